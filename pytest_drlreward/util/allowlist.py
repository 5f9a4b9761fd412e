"""The one rule for every ``module:attr`` a setting or a classifier directory names (a ``torch_factory``, a
``drl_reference`` or ``drl_policy`` callable): an allowlist, checked WITHOUT importing anything.

A reference may run only if it names a function or class **defined** (``def`` / ``class``) in a module
the user trusts:

- the user's own project: a module whose source lies outside the installation directories (site-packages,
  dist-packages, the standard library) and under a directory of ``sys.path``, under the extra roots given
  (the plugin adds its rootdir and the invocation directory), or that this process already imported; or
- a module the user names in ``drl_trusted_modules`` / ``trusted_modules=`` (``my_lab.*`` trusts
  ``my_lab`` and everything below it; ``torchvision.models.squeezenet`` that module only).

Never: the standard library and builtins, loaders of code or pickles (:data:`REFUSED_MODULES`), dunder
attributes (``build.__globals__``), names a module only imports or assigns. Every installed package is
a possible gadget (``setuptools._distutils.spawn:spawn`` runs a command), so no denylist can be complete:
what is not allowed is refused, with one line naming the value and the fix.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import os
import re
import site
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_drlreward.util.sourcecheck import _bound_names, find_module_spec

STANDARD_LIBRARY = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)
REFUSED_MODULES = ("torch.hub", "torch.serialization", "torch.package", "torch.jit", "numpy.lib", "joblib", "dill",
                   "cloudpickle", "pandas.io.pickle", "transformers.dynamic_module_utils")
TRUST_FIX = "add its module to drl_trusted_modules (API: trusted_modules=...) if you trust it"
_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(\.\*)?$")


def parse_trusted_modules(text: str) -> tuple[str, ...]:
    """``"my_lab.*, torchvision.models"`` -> the patterns; ValueError naming a bad one (``*`` alone trusts all)."""
    patterns = tuple(part for part in re.split(r"[,\s]+", text) if part)
    bad = [p for p in patterns if not _PATTERN.match(p)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a module name or 'package.*' (trusting every module would make any "
                         f"installed package runnable)")
    return patterns


def matches(module: str, patterns: Iterable[str]) -> bool:
    """Whether ``module`` is named by one of ``patterns`` (``pkg.*``: ``pkg`` and below; else that module)."""
    for pattern in patterns:
        base = pattern[:-2] if pattern.endswith(".*") else None
        if module == pattern or (base is not None and (module == base or module.startswith(base + "."))):
            return True
    return False


def install_dirs() -> tuple[Path, ...]:
    """Where installed code lives (standard library, site-packages of this and the base interpreter)."""
    found: set[str] = set()
    for variables in ({}, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        paths = sysconfig.get_paths(vars=variables or None)
        found |= {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    found |= set(getattr(site, "getsitepackages", list)()) | {site.getusersitepackages()}
    return tuple(Path(p).resolve() for p in found if p)


def _installed(path: Path, installs: Sequence[Path]) -> bool:
    return bool({"site-packages", "dist-packages"} & set(path.parts)) or any(_inside(path, d) for d in installs)


def _inside(path: Path, directory: Path) -> bool:
    return directory == path or directory in path.parents


def project_roots(extra: Iterable[str | Path] = ()) -> tuple[Path, ...]:
    """The user's project: ``sys.path`` directories (``''``: the working directory) that are not installation
    directories, and ``extra`` (the plugin's rootdir and invocation directory)."""
    installs, roots = install_dirs(), []
    for entry in [*sys.path, *map(str, extra)]:
        path = Path(entry or os.getcwd()).resolve()
        if path.is_dir() and path != Path(path.anchor) and not _installed(path, installs) and path not in roots:
            roots.append(path)
    return tuple(roots)


@dataclass(frozen=True)
class Trust:
    """Whose code may run: ``patterns`` (``drl_trusted_modules``), the project ``roots`` (None: from ``sys.path``),
    the classifier directory and whether code inside it may run (``trust_code``)."""

    patterns: tuple[str, ...] = ()
    roots: tuple[Path, ...] | None = None
    model_dir: Path | None = None
    trust_code: bool = False

    def project(self) -> tuple[Path, ...]:
        return self.roots if self.roots is not None else project_roots()


@dataclass(frozen=True)
class Located:
    """A checked reference: its module, dotted attribute, source file (None: no source, trusted by name), and why
    it may run (``project``, ``drl_trusted_modules`` or ``trust_code``)."""

    spec: str
    module: str
    attribute: str
    origin: Path | None
    why: str

    @property
    def inside(self) -> bool:
        return self.why == "trust_code"


def _defined(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """Functions and classes defined at a module's (or class's) top level, into if/try/with blocks too."""
    names: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            inner = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
            for handler in getattr(node, "handlers", []):
                inner += handler.body
            names.update(_defined(inner))
    return names


def _check_defined(origin: Path, module: str, parts: list[str], fail: Any) -> None:
    """``parts`` (``name`` or ``Class.method``) is a def/class in ``origin``'s source."""
    if origin.suffix != ".py" or not origin.is_file():
        fail(f"{origin} is not Python source, so what it defines cannot be checked; name a function or class "
             f"defined in a .py module")
    try:
        tree = ast.parse(origin.read_text(encoding="utf-8"), filename=str(origin))
    except (SyntaxError, UnicodeDecodeError, OSError) as error:
        fail(f"cannot read {origin}: {error}")
    scope, where = _defined(tree.body), module
    for depth, part in enumerate(parts):
        node = scope.get(part)
        if node is None and depth == 0 and part in _bound_names(tree.body)[0]:
            fail(f"{where} ({origin}) defines no function or class {part!r}: it only imports or assigns it (name the "
                 f"module that defines it)")
        if node is None:
            close = difflib.get_close_matches(part, sorted(n for n in scope if not n.startswith("_")), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            fail(f"{where} ({origin}) defines no {part!r}{hint} (it must be a function or class defined there)")
        if depth < len(parts) - 1:
            if not isinstance(node, ast.ClassDef):
                fail(f"{part!r} in {where} is not a class, so {'.'.join(parts)!r} names no method of it")
            scope, where = _defined(node.body), f"{where}.{part}"


def check_reference(spec: Any, what: str, trust: Trust = Trust(), error: type[Exception] = ValueError,
                    where: str = "") -> Located:
    """Check ``spec`` (``"package.module:name"`` or ``"package.module:Class.method"``) against the rule, importing
    nothing; ``error`` (one line naming ``what``, the value and the fix) when it may not run."""
    prefix = f"{where}: " if where else ""
    text = str(spec).strip()

    def fail(problem: str) -> None:
        raise error(f"{prefix}{what} {text!r}: {problem}")

    module, _, attribute = text.partition(":")
    parts = attribute.split(".")
    if not module or not attribute or not all(p.isidentifier() for p in [*module.split("."), *parts]):
        fail("must look like 'package.module:function' (or 'package.module:Class.method')")
    if len(parts) > 2 or any(p.startswith("__") for p in parts):
        fail("names an attribute chain; name a function or class defined in a module (no dunder attributes)")
    top = module.split(".")[0]
    if top in STANDARD_LIBRARY:
        fail(f"names the standard library ({top}), which can run any command; name a function or class of your "
             f"own project")
    refused = next((name for name in REFUSED_MODULES if module == name or module.startswith(name + ".")), None)
    if refused is not None:
        fail(f"is in {refused}, which loads code or pickles; name the function or class that builds your model")
    extra = [trust.model_dir] if trust.model_dir is not None else []  # found by path: the message names the opt-in
    found = find_module_spec(module, extra)
    origin = Path(found.origin).resolve() if found is not None and found.origin not in (None, "built-in", "frozen") else None
    named = matches(module, trust.patterns)
    if origin is None:
        if found is not None and named:
            return Located(text, module, attribute, None, "drl_trusted_modules")  # no source: checked on import
        fail(f"cannot find module {module!r} (is it installed, or on the `pythonpath` ini setting?)")
    directory = trust.model_dir.resolve() if trust.model_dir is not None else None
    if directory is not None and _inside(origin, directory):
        if not trust.trust_code:
            fail(f"is code inside the classifier directory ({origin}); loading a directory runs none of its code "
                 f"unless you trust it: pass trust_code=True (ini drl_trust_code = true)")
        why = "trust_code"
    elif named:
        why = "drl_trusted_modules"
    elif not _installed(origin, install_dirs()) and (module in sys.modules  # imported by you, not installed
                                                     or any(_inside(origin, root) for root in trust.project())):
        why = "project"
    else:
        fail(f"{module} ({origin}) is neither your project's code nor in drl_trusted_modules, and any installed "
             f"package may run commands; {TRUST_FIX}")
    _check_defined(origin, module, parts, fail)
    return Located(text, module, attribute, origin, why)


def import_located(location: Located, what: str, error: type[Exception] = ValueError, where: str = "") -> Any:
    """Import a checked reference: the function or class (or method) itself, defined in the module checked."""
    prefix = f"{where}: " if where else ""
    try:
        module = importlib.import_module(location.module)
        target: Any = module
        for part in location.attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as caught:
        raise error(f"{prefix}cannot import {what} {location.spec!r}: {caught} (is its module installed, or on the "
                    f"pythonpath?)") from caught
    imported = Path(getattr(module, "__file__", "") or "").resolve()
    if location.origin is not None and imported != location.origin:
        raise error(f"{prefix}{what} {location.spec!r}: importing {location.module} gave {imported}, not "
                    f"{location.origin} checked before; refusing to call it")
    owner = target.__self__ if inspect.ismethod(target) else target  # a classmethod: its class
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)) \
            or getattr(owner, "__module__", None) != location.module:
        raise error(f"{prefix}{what} {location.spec!r} is a {type(target).__name__} not defined in {location.module}; "
                    f"name a Python function or class defined there")
    return target


def resolve_trusted(spec: Any, what: str, trust: Trust = Trust(), error: type[Exception] = ValueError,
                    where: str = "") -> Any:
    """:func:`check_reference`, then :func:`import_located`: the callable, ready to call."""
    return import_located(check_reference(spec, what, trust, error, where), what, error, where)
