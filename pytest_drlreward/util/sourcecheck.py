"""Whether ``module:name`` can exist, checked without running the module (so nothing heavy is imported).

The module is located without importing anything (:func:`find_module_spec`: the top-level name by the
import system's finders, each submodule by path from its parent's spec, so no package ``__init__``
runs) and its source is parsed: a name bound at the top level (``def``, ``class``, assignment, import) exists.
When the source cannot tell (no source file, ``from x import *``, a module ``__getattr__``), the
answer is "unknown" and the real import decides later.
"""

from __future__ import annotations

import ast
import difflib
import importlib.machinery
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Lookup:
    """Result of :func:`lookup`: ``found`` is True, False or None (cannot tell); ``path`` is the module's file."""

    found: bool | None
    path: Path | None
    module_found: bool
    suggestions: tuple[str, ...] = ()


def _bound_names(body: list[ast.stmt]) -> tuple[set[str], bool]:
    """Names bound by top-level statements (into if/try/with blocks too), and whether the source cannot tell."""
    names: set[str] = set()
    unknowable = False
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            unknowable |= node.name == "__getattr__"
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    unknowable = True
                names.add(alias.asname or alias.name.split(".")[0])
        for block in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, block, None)
            if isinstance(node, (ast.If, ast.Try, ast.With)) and isinstance(inner, list):
                statements = [s for s in inner if isinstance(s, ast.stmt)]
                for handler in (s for s in inner if isinstance(s, ast.ExceptHandler)):
                    statements += handler.body
                more, unknown = _bound_names(statements)
                names |= more
                unknowable |= unknown
    return names, unknowable


def _top_level_spec(name: str, extra: Sequence[str | Path]) -> Any:
    if name in sys.modules:  # already imported: nothing runs
        return getattr(sys.modules[name], "__spec__", None)
    spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
    for finder in sys.meta_path:  # e.g. editable installs' finders; a top-level name imports no parent
        find = getattr(finder, "find_spec", None)
        if spec is not None or find is None or finder is importlib.machinery.PathFinder:
            continue
        try:
            spec = find(name, None)
        except (ImportError, ValueError, TypeError):
            spec = None
    if spec is None and extra:
        spec = importlib.machinery.PathFinder.find_spec(name, [str(path) for path in extra])
    return spec


def find_module_spec(module: str, extra: Sequence[str | Path] = ()) -> Any:
    """The ``ModuleSpec`` of dotted ``module`` found WITHOUT importing it or any parent package, or None.

    ``extra`` directories are searched after ``sys.path`` (and the import system's finders) for the top-level name. A submodule is
    looked for in its parent's ``submodule_search_locations`` only.
    """
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    try:
        spec = _top_level_spec(parts[0], extra)
        for depth in range(1, len(parts)):
            locations = getattr(spec, "submodule_search_locations", None) if spec is not None else None
            if not locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: depth + 1]), list(locations))
    except (ImportError, ValueError, OSError):
        return None
    return spec


def lookup(module: str, name: str) -> Lookup:
    """Whether ``module`` exists and binds ``name`` (its first dotted part) at the top level."""
    spec = find_module_spec(module)
    if spec is None:
        return Lookup(False, None, False)
    origin = Path(spec.origin) if spec.origin and spec.origin not in ("built-in", "frozen") else None
    if origin is None or origin.suffix != ".py" or not origin.is_file():
        return Lookup(None, origin, True)
    try:
        tree = ast.parse(origin.read_text(encoding="utf-8"), filename=str(origin))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return Lookup(None, origin, True)
    names, unknowable = _bound_names(tree.body)
    first = name.split(".")[0]
    if first in names:
        return Lookup(True, origin, True)
    if unknowable or (spec.submodule_search_locations and find_module_spec(f"{module}.{first}") is not None):
        return Lookup(None, origin, True)
    public = sorted(n for n in names if not n.startswith("_"))
    return Lookup(False, origin, True, tuple(difflib.get_close_matches(first, public, n=3)))
