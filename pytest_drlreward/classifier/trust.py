"""Which code a classifier directory may make us run: its ``torch_factory``, checked before anything is imported.

A directory is data someone sent you. Its ``torch_factory`` (``"package.module:function"``) is the one
piece of it that names code, so it is held to the allowlist rule of ``pytest_drlreward.util.allowlist``
(checked by :func:`locate_factory` WITHOUT importing anything: the module is found by path, its source
parsed): a function or class *defined* in the user's own project or in a module the user trusts
(``trusted_modules``, ini ``drl_trusted_modules``); never the standard library, a loader of code or
pickles, or any other installed package. Code inside the directory runs only when the caller trusts the
directory's code (``trust_code=True``, ini ``drl_trust_code``: the ``trust_remote_code`` convention of
Hugging Face ``transformers``), and it must be listed and hash-checked like every other file.

Only :func:`load_factory` imports, when a Torch module is actually built, and it checks that the
import gave the very function located before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pytest_drlreward.classifier.metadata import ModelDirError
from pytest_drlreward.util.allowlist import REFUSED_MODULES, STANDARD_LIBRARY, Located, Trust, check_reference, import_located

__all__ = ["REFUSED_MODULES", "STANDARD_LIBRARY", "TRUST_HINT", "FactoryLocation", "UntrustedCodeError", "load_factory",
           "locate_factory"]

TRUST_HINT = "trust_code=True (ini drl_trust_code = true)"
FactoryLocation = Located  # kept name: where the factory lives and why it may run


class UntrustedCodeError(ModelDirError):
    """``torch_factory`` names code that loading a directory may not run."""


def _trust(model_dir: str | Path, trust_code: bool, trusted_modules: Iterable[str],
           roots: tuple[Path, ...] | None) -> Trust:
    return Trust(tuple(trusted_modules), roots, Path(model_dir), trust_code)


def locate_factory(spec: str, model_dir: str | Path, trust_code: bool = False, where: str = "",
                   trusted_modules: Iterable[str] = (), roots: tuple[Path, ...] | None = None) -> Located:
    """Check ``torch_factory`` ``spec`` against the allowlist rule without importing anything; return where it lives.

    ``where`` (e.g. the metadata file) starts every message; ``roots``: the project's directories (None: the
    non-installation entries of ``sys.path``). Raises :class:`UntrustedCodeError`.
    """
    return check_reference(spec, "torch_factory", _trust(model_dir, trust_code, trusted_modules, roots),
                           UntrustedCodeError, where)


def load_factory(spec: str, model_dir: str | Path, trust_code: bool = False, where: str = "",
                 trusted_modules: Iterable[str] = ()) -> Callable[..., Any]:
    """Locate ``spec`` (:func:`locate_factory`), then import it: the function or class, ready to call.

    The imported module must be the file located (not another one shadowing it); code inside the directory is
    imported with the directory on ``sys.path`` for the import only, writing no bytecode there.
    """
    location = locate_factory(spec, model_dir, trust_code, where, trusted_modules)
    with _importable_from(Path(model_dir).resolve(), location.inside):
        return import_located(location, "torch_factory", UntrustedCodeError, where)


class _importable_from:
    """With ``needed``: ``directory`` on ``sys.path`` and no bytecode written into it, for the block only."""

    def __init__(self, directory: Path, needed: bool) -> None:
        self.directory, self.needed = directory, needed

    def __enter__(self) -> None:
        import sys

        if self.needed:
            self.saved = (list(sys.path), sys.dont_write_bytecode)
            sys.path.append(str(self.directory))
            sys.dont_write_bytecode = True  # a __pycache__ left in the directory would be an unlisted file

    def __exit__(self, *exc: object) -> None:
        import sys

        if self.needed:
            sys.path[:], sys.dont_write_bytecode = self.saved
