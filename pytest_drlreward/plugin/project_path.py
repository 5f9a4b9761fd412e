"""The project's own modules, importable however pytest was started.

``python -m pytest`` puts the current directory on ``sys.path``; plain ``pytest`` does not, so a setting
such as ``drl_env = "my_project.envs:make_env"`` worked one way and not the other. When a module that
``drl_env``, ``drl_reference``, ``drl_policy`` or the classifier's ``torch_factory`` names is not importable
but the project holds it (the ini file's directory, the rootdir, the directory pytest was started in), that
directory is appended to ``sys.path`` (appended: it shadows nothing installed). No pytest here.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from pytest_drlreward.util.sourcecheck import find_module_spec


def top_module(spec: str | None) -> str | None:
    """The top-level module of a ``module:attr`` spec (``my_project`` of ``my_project.envs:make_env``), else None."""
    if not spec or ":" not in spec:
        return None
    top = spec.strip().rpartition(":")[0].split(".")[0]
    return top if top.isidentifier() else None


def factory_module(model_dir: Path | None) -> str | None:
    """The top-level module of the classifier directory's ``torch_factory`` (read from its metadata; None if none)."""
    try:
        factory = json.loads((model_dir / "metadata.json").read_text()).get("torch_factory") if model_dir else None
    except (OSError, ValueError, AttributeError, RecursionError):  # a bad directory is refused when it is read
        return None
    return top_module(factory) if isinstance(factory, str) else None


def add_project_to_path(modules: Iterable[str | None], roots: Iterable[Path]) -> list[Path]:
    """Append to ``sys.path`` the first of ``roots`` holding each of ``modules`` that is not importable yet (a
    ``.py`` file or a package with ``__init__.py``: a plain directory, such as a classifier directory, never
    counts); the directories appended."""
    added: list[Path] = []
    for module in dict.fromkeys(m for m in modules if m):
        if find_module_spec(module) is not None:
            continue
        root = next((r for r in dict.fromkeys(roots) if _is_file_module(find_module_spec(module, [r]))), None)
        if root is not None and str(root) not in sys.path:
            sys.path.append(str(root))
            importlib.invalidate_caches()
            added.append(root)
    return added


def _is_file_module(spec: object) -> bool:
    origin = getattr(spec, "origin", None)
    return isinstance(origin, str) and Path(origin).is_file()
