"""Whether ``module:name`` can exist, checked without running the module (so nothing heavy is imported).

The module is located with ``importlib.util.find_spec`` (which imports its parent packages only) and
its source is parsed: a name bound at the top level (``def``, ``class``, assignment, import) exists.
When the source cannot tell (no source file, ``from x import *``, a module ``__getattr__``), the
answer is "unknown" and the real import decides later.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
from dataclasses import dataclass
from pathlib import Path


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


def lookup(module: str, name: str) -> Lookup:
    """Whether ``module`` exists and binds ``name`` (its first dotted part) at the top level."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
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
    if unknowable or (spec.submodule_search_locations and importlib.util.find_spec(f"{module}.{first}") is not None):
        return Lookup(None, origin, True)
    public = sorted(n for n in names if not n.startswith("_"))
    return Lookup(False, origin, True, tuple(difflib.get_close_matches(first, public, n=3)))
