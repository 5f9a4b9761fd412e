"""The settings that depend on the classifier directory: the reference (``drl_reference``), the default
candidates (``drl_backends``) and where the env supplies each input (``drl_input_keys``).

No pytest here: each function raises ``ValueError`` naming the bad value; ``options`` adds where it was set.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_drlreward.backends.registry import BACKEND_NAMES, REFERENCE_BACKEND, default_reference, is_callable_spec


def choose_reference(text: str | None, directory: Any, origin: str) -> tuple[str, str]:
    """(reference, why): the configured one (checked), else torch for a directory with a torch factory
    (and torch installed), else the first installed ONNX engine."""
    if text is None:
        name = default_reference(directory)
        if directory is not None and name != REFERENCE_BACKEND:
            why = "the classifier directory has no torch_factory" if not directory.has_torch_factory else "torch is not installed"
            return name, f"{why}, so {name} is the reference"
        return name, "the default"
    text = text.strip()
    if is_callable_spec(text):
        from pytest_drlreward.sourcecheck import lookup

        module, _, name = text.partition(":")
        found = lookup(module, name.split(".")[0])
        if not found.module_found:
            raise ValueError(f"cannot find module {module!r} (is it on the `pythonpath` ini setting?)")
        if found.found is False:
            raise ValueError(f"{module} ({found.path}) defines no {name!r}")
        return text, origin
    if text not in BACKEND_NAMES:
        raise ValueError(f"unknown reference {text!r}; allowed: {', '.join(BACKEND_NAMES)} or 'module:function'")
    if text == REFERENCE_BACKEND and directory is not None and not directory.has_torch_factory:
        raise ValueError(f"{directory.path} has no torch_factory (an ONNX-only directory): choose onnxruntime, "
                         f"openvino or a 'module:function' callable")
    return text, origin


def candidate_backends(configured: tuple[str, ...] | None, reference: str, directory: Any) -> tuple[str, ...]:
    """The configured candidates (checked against the directory), or by default every engine the
    directory can run except the reference (no torch for an ONNX-only directory)."""
    torch_less = directory is not None and not directory.has_torch_factory
    if configured is None:
        return tuple(n for n in BACKEND_NAMES if n != reference and not (torch_less and n == REFERENCE_BACKEND))
    if torch_less and REFERENCE_BACKEND in configured:
        raise ValueError(f"{directory.path} has no torch_factory (an ONNX-only directory), so it cannot run on 'torch'")
    return configured


def parse_input_keys(text: str, directory: Any) -> dict[str, str]:
    """Lines (or commas) ``input_name = env_key``; every name must be one of the directory's inputs."""
    table: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in re.split(r"[\n,]", text))):
        name, equals, key = (part.strip() for part in entry.partition("="))
        if not equals or not name or not key:
            raise ValueError(f"entry {entry!r} must look like 'input_name = env_key'")
        table[name] = key
    if directory is not None:
        names = [spec.name for spec in directory.inputs]
        unknown = [name for name in table if name not in names]
        if unknown:
            raise ValueError(f"the classifier takes no input {unknown[0]!r}; its inputs: {', '.join(names)}")
    return table
