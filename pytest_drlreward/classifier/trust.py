"""Which code a classifier directory may make us run: its ``torch_factory``, checked before anything is imported.

A directory is data someone sent you. Its ``torch_factory`` (``"package.module:function"``) is the one
piece of it that names code, so it is held to these rules, checked by :func:`locate_factory` WITHOUT
importing anything (the module is found by path, its source parsed):

- not the standard library nor a builtin (``os:system``, ``builtins:exec``, ``subprocess:run``...);
- not a known loader of code or pickles (:data:`REFUSED_MODULES`, e.g. ``torch.hub``);
- a function or class *defined* (``def`` / ``class``) in that module's Python source, not a name it
  imports or assigns (``torch:load`` is imported into ``torch/__init__.py``, so it is refused);
- a module outside the directory, unless the caller trusts the directory's code (``trust_code=True``,
  ini ``drl_trust_code``: the ``trust_remote_code`` convention of Hugging Face ``transformers``).

Only :func:`load_factory` imports, when a Torch module is actually built, and it checks that the
import gave the very function located before.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_drlreward.classifier.directory import ModelDirError
from pytest_drlreward.sourcecheck import find_module_spec

STANDARD_LIBRARY = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)
REFUSED_MODULES = ("torch.hub", "torch.serialization", "torch.package", "torch.jit", "numpy.lib", "joblib", "dill",
                   "cloudpickle", "pandas.io.pickle", "transformers.dynamic_module_utils")
TRUST_HINT = "trust_code=True (ini drl_trust_code = true)"


class UntrustedCodeError(ModelDirError):
    """``torch_factory`` names code that loading a directory may not run (without ``trust_code``)."""


@dataclass(frozen=True)
class FactoryLocation:
    """Where ``torch_factory`` lives, found without importing: its module's source file and whether it is in the directory."""

    spec: str
    module: str
    attribute: str
    origin: Path
    inside: bool


def _defined_names(body: list[ast.stmt]) -> set[str]:
    """Functions and classes defined at a module's top level (inside if/try/with blocks too)."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            inner = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
            for handler in getattr(node, "handlers", []):
                inner += handler.body
            names |= _defined_names(inner)
    return names


def _inside(path: Path, directory: Path) -> bool:
    return directory == path or directory in path.parents


def locate_factory(spec: str, model_dir: str | Path, trust_code: bool = False, where: str = "") -> FactoryLocation:
    """Check ``torch_factory`` ``spec`` against the rules above without importing anything; return where it lives.

    ``where`` (e.g. the metadata file) starts every message. Raises :class:`UntrustedCodeError` for code
    that may not run, ``ModelDirError`` for a factory that cannot be found.
    """
    prefix = f"{where}: " if where else ""
    text = str(spec)
    module, _, attribute = text.partition(":")
    parts = [*module.split("."), *attribute.split(".")]
    if not module or not attribute or not all(part.isidentifier() for part in parts):
        raise ModelDirError(f"{prefix}torch_factory must look like 'package.module:function', got {text!r}")
    top = module.split(".")[0]
    if top in STANDARD_LIBRARY:
        raise UntrustedCodeError(f"{prefix}torch_factory {text!r} names the standard library ({top}); a classifier "
                                 f"directory may only name a function or class of an installed model package (a "
                                 f"standard-library callable could run any command)")
    refused = next((name for name in REFUSED_MODULES if module == name or module.startswith(name + ".")), None)
    if refused is not None:
        raise UntrustedCodeError(f"{prefix}torch_factory {text!r} is in {refused}, which loads code or pickles; name "
                                 f"the function or class that builds your model")
    directory = Path(model_dir).resolve()
    found = find_module_spec(module, [directory])  # found by path only: the message can name the opt-in
    origin = Path(found.origin).resolve() if found is not None and found.origin not in (None, "built-in", "frozen") else None
    if origin is None:
        raise ModelDirError(f"{prefix}torch_factory {text!r}: cannot find module {module!r} (is it installed, or on "
                            f"the `pythonpath` ini setting?)")
    inside = _inside(origin, directory)
    if inside and not trust_code:
        raise UntrustedCodeError(f"{prefix}torch_factory {text!r} is code inside the classifier directory ({origin}); "
                                 f"loading a directory runs none of its code unless you trust it: pass {TRUST_HINT}")
    if origin.suffix != ".py" or not origin.is_file():
        raise UntrustedCodeError(f"{prefix}torch_factory {text!r}: {origin} is not Python source, so what it defines "
                                 f"cannot be checked; name a function or class defined in a .py module")
    try:
        tree = ast.parse(origin.read_text(encoding="utf-8"), filename=str(origin))
    except (SyntaxError, UnicodeDecodeError, OSError) as error:
        raise ModelDirError(f"{prefix}torch_factory {text!r}: cannot read {origin}: {error}") from None
    first, defined = attribute.split(".")[0], _defined_names(tree.body)
    if first not in defined:
        close = difflib.get_close_matches(first, sorted(n for n in defined if not n.startswith("_")), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UntrustedCodeError(f"{prefix}torch_factory {text!r}: {module} ({origin}) defines no {first!r}{hint} (it "
                                 f"must be a function or class defined there; a name only imported or assigned is "
                                 f"refused: name the module that defines it)")
    return FactoryLocation(text, module, attribute, origin, inside)


@contextlib.contextmanager
def _importable_from(directory: Path, needed: bool) -> Iterator[None]:
    """With ``needed``: ``directory`` on ``sys.path`` and no bytecode written into it, for the block only."""
    if not needed:
        yield
        return
    old_path, old_flag = list(sys.path), sys.dont_write_bytecode
    sys.path.append(str(directory))
    sys.dont_write_bytecode = True  # a __pycache__ left in the directory would be an unlisted file
    try:
        yield
    finally:
        sys.path[:] = old_path
        sys.dont_write_bytecode = old_flag


def load_factory(spec: str, model_dir: str | Path, trust_code: bool = False, where: str = "") -> Callable[..., Any]:
    """Locate ``spec`` (:func:`locate_factory`), then import it: the function or class, ready to call.

    The imported module must be the file located (not another one shadowing it).
    """
    location = locate_factory(spec, model_dir, trust_code, where)
    prefix = f"{where}: " if where else ""
    directory = Path(model_dir).resolve()
    try:
        with _importable_from(directory, location.inside):
            target: Any = importlib.import_module(location.module)
        imported = Path(getattr(target, "__file__", "") or "").resolve()
        for part in location.attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise ModelDirError(f"{prefix}cannot import torch_factory {spec!r}: {error} (is its module installed, or on "
                            f"the pythonpath?)") from error
    if imported != location.origin:
        raise UntrustedCodeError(f"{prefix}torch_factory {spec!r}: importing {location.module} gave {imported}, not "
                                 f"{location.origin} found before; refusing to call it")
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)):
        raise UntrustedCodeError(f"{prefix}torch_factory {spec!r} is a {type(target).__name__}, not a Python function "
                                 f"or class")
    return target
