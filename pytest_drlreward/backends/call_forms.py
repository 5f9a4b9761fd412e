"""How a callable reference (``drl_reference = module:function``) is called with a model's named inputs.

Two forms, chosen from the function's signature:

- **one argument**: ``forward(inputs)``, given the array of a one-input model or a dict name -> array;
- **keyword arguments**: ``forward(front, wrist)`` (or ``forward(front, wrist, *, params=PARAMS)``), when the
  signature names every input: each input is passed by its name. A JAX ``model.apply(params, front, wrist)``
  fits once its parameters are bound (``functools.partial(model.apply, params)``, or a small wrapper).

Any other signature (a required parameter that is not an input, several unnamed ones) is a ``ValueError``
naming the signature and these forms. The signature is read from the function itself, or at start from
its module's source (nothing imported). Standard library only.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ONE_ARGUMENT = "one argument"
KEYWORDS = "keyword arguments"
_POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


@dataclass(frozen=True)
class Param:
    """One parameter: its name, ``inspect.Parameter`` kind name and whether it must be given."""

    name: str
    kind: str
    required: bool


def forms_text(input_names: Sequence[str]) -> str:
    """The accepted forms, for messages."""
    named = ", ".join(input_names)
    return (f"accepted: f(inputs) with one argument (the array of a one-input model, or a dict name -> array), "
            f"or f({named}) with a parameter named like each input (any other parameter needs a default; bind a "
            f"JAX model's params first: functools.partial(model.apply, params))")


def call_form(params: Sequence[Param], input_names: Sequence[str], shown: str) -> str:
    """:data:`KEYWORDS` when the parameters name every input (and need nothing else), else :data:`ONE_ARGUMENT` when
    one positional argument fills them; ``ValueError`` naming ``shown`` (the signature) and the forms otherwise."""
    names = {p.name: p for p in params}
    takes_any_keyword = any(p.kind == "VAR_KEYWORD" for p in params)
    if len(input_names) > 1 or input_names[0] in names:
        named = all(n in names and names[n].kind != "POSITIONAL_ONLY" for n in input_names)
        others = [p for p in params if p.required and p.name not in input_names and not p.kind.startswith("VAR")]
        if named and not others:
            return KEYWORDS
    required = [p for p in params if p.required and p.kind in _POSITIONAL]
    positional = [p for p in params if p.kind in _POSITIONAL or p.kind == "VAR_POSITIONAL"]
    keyword_only = [p for p in params if p.required and p.kind == "KEYWORD_ONLY"]
    if len(required) <= 1 and positional and not keyword_only:
        return ONE_ARGUMENT
    if takes_any_keyword and not required and not keyword_only:
        return KEYWORDS
    raise ValueError(f"the callable reference {shown} cannot be called with the model's inputs "
                     f"{', '.join(input_names)}; {forms_text(input_names)}")


def params_of(function: Callable[..., Any]) -> list[Param] | None:
    """The parameters of ``function`` (None when Python cannot tell, e.g. some builtins)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return [Param(p.name, p.kind.name, p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
            for p in signature.parameters.values()]


def describe(function: Callable[..., Any], spec: str) -> str:
    """``spec`` with its signature, e.g. ``my_mod:forward(x, y)``."""
    try:
        return f"{spec}{inspect.signature(function)}"
    except (TypeError, ValueError):
        return spec


def params_in_source(path: Path, attribute: str) -> tuple[list[Param], str] | None:
    """The parameters (and the signature's text) of the top-level ``def attribute`` in ``path``'s source; None for
    anything else (a class, a method, a name bound otherwise, unreadable source): the real call decides then."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    found = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
             and node.name == attribute]
    if len(found) != 1 or "." in attribute:
        return None
    args = found[0].args
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    params = [Param(a.arg, "POSITIONAL_ONLY" if i < len(args.posonlyargs) else "POSITIONAL_OR_KEYWORD",
                    i < first_default) for i, a in enumerate(positional)]
    if args.vararg is not None:
        params.append(Param(args.vararg.arg, "VAR_POSITIONAL", False))
    params += [Param(a.arg, "KEYWORD_ONLY", d is None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg is not None:
        params.append(Param(args.kwarg.arg, "VAR_KEYWORD", False))
    return params, f"{attribute}({ast.unparse(args)})"
