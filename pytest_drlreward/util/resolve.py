"""One resolver of ``module:attribute`` references (a torch factory, a policy, a reference callable, a
registered backend class, an env factory): import the module, walk the dotted attribute. Standard library only.

Resolving imports code: call it only where running that code is intended (``classifier/trust.py`` checks
a directory's ``torch_factory`` before anything resolves it).
"""

from __future__ import annotations

import importlib
from typing import Any


def split_reference(spec: Any, what: str, error: type[Exception] = ValueError) -> tuple[str, str]:
    """``"package.module:attr.sub"`` -> ``("package.module", "attr.sub")``; ``error`` naming ``what`` otherwise."""
    module_name, _, dotted = str(spec).partition(":")
    if not module_name or not dotted:
        raise error(f"{what} must look like 'package.module:function', got {spec!r}")
    return module_name, dotted


def attribute(found: Any, dotted: str) -> Any:
    """``found.a.b`` for ``dotted`` ``"a.b"``; AttributeError when a part is missing."""
    for part in dotted.split("."):
        found = getattr(found, part)
    return found


def resolve(spec: Any, what: str, error: type[Exception] = ValueError, hint: str = "",
            must_be_callable: bool = True) -> Any:
    """The object ``spec`` names; ``error`` naming ``what`` (and ``hint``) when it cannot be imported or called."""
    module_name, dotted = split_reference(spec, what, error)
    try:
        found = attribute(importlib.import_module(module_name), dotted)
    except (ImportError, AttributeError) as caught:
        raise error(f"cannot import {what} {spec!r}: {caught}{hint}") from caught
    if must_be_callable and not callable(found):
        raise error(f"{what} {spec!r} is not callable")
    return found
