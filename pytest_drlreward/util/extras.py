"""Optional dependencies: the error that names the extra to install, and the import that raises it.

Below both ``classifier/`` and ``backends/``: any core module that needs an optional package
(torch for export, an engine, NNCF for INT8) imports it with ``require``. Standard library only.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DISTRIBUTION = "pytest-drlreward"


class BackendUnavailableError(ImportError):
    """A Python package that a backend or a feature needs is not installed."""


def _extra_requirements(extra: str, seen: frozenset = frozenset()) -> list[str]:
    """The requirements an extra of this distribution adds (its own extras expanded), from the installed
    metadata; empty when the distribution is not installed (a bare source tree)."""
    import importlib.metadata
    import re

    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    found: list[str] = []
    for line in requires:
        requirement, _, marker = line.partition(";")
        if not re.search(rf"""extra\s*==\s*["']{re.escape(extra)}["']""", marker):
            continue
        own = re.fullmatch(rf"\s*{re.escape(DISTRIBUTION)}\[([^\]]+)\]\s*", requirement)
        if own:  # e.g. panda = ["pytest-drlreward[torch]", ...]
            for inner in own.group(1).split(","):
                if inner.strip() not in seen:
                    found += _extra_requirements(inner.strip(), seen | {extra})
        else:
            found.append(requirement.strip())
    return list(dict.fromkeys(found))


def install_hint(extra: str) -> str:
    """The pip command that installs an extra of this distribution, one that works without a package index.

    The distribution is not on PyPI: the hint installs the extra's own packages (which are), and says how
    to install the extra from a clone of the repository.
    """
    packages = " ".join(f'"{requirement}"' if any(c in requirement for c in "<>=!~ ") else requirement
                        for requirement in _extra_requirements(extra))
    from_clone = f'pip install ".[{extra}]" in a clone of {DISTRIBUTION}'
    if not packages:
        return f"{from_clone} (the {DISTRIBUTION}[{extra}] extra)"
    return f"pip install {packages} (the {DISTRIBUTION}[{extra}] extra; or {from_clone})"


def require(package: str, what: str, extra: str | None = None) -> ModuleType:
    """Import ``package`` or raise BackendUnavailableError naming the extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise BackendUnavailableError(
            f"{what} needs the {package!r} package, which is not installed: {install_hint(extra or package)}"
        ) from error
