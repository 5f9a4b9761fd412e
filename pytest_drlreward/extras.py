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


def install_hint(extra: str) -> str:
    """The pip command that installs an extra of this distribution."""
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def require(package: str, what: str, extra: str | None = None) -> ModuleType:
    """Import ``package`` or raise BackendUnavailableError naming the extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise BackendUnavailableError(
            f"{what} needs the {package!r} package, which is not installed: {install_hint(extra or package)}"
        ) from error
