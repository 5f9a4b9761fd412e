"""The settings that depend on the classifier directory: the reference (``drl_reference``), the default
candidates (``drl_backends``) and where the env supplies each input (``drl_input_keys``).

No pytest here: each function raises ``ValueError`` naming the bad value; ``options`` adds where it was set.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from typing import Any

from pytest_drlreward.backends.registry import BACKEND_NAMES, REFERENCE_BACKEND, default_reference, is_callable_spec


def factory_problem(directory: Any) -> str | None:
    """Why the directory's ``torch_factory`` cannot be resolved (its module is not found, or does not bind the
    name), importing nothing; None when it can (or cannot be told) or there is none."""
    from pytest_drlreward.util.sourcecheck import find_module_spec, lookup

    spec = directory.metadata.get("torch_factory") if directory is not None else None
    if spec is None:
        return None
    module, _, name = str(spec).partition(":")
    if find_module_spec(module, [directory.path]) is None:
        return f"cannot find module {module!r}"
    found = lookup(module, name)
    if found.module_found and found.found is False:  # (not found on sys.path: inside the directory, told on loading)
        return f"{module} ({found.path}) defines no {name.split('.')[0]!r}"
    return None


def _torch_installed() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # an import hook refusing torch, or a broken entry in sys.modules
        return False


@dataclass(frozen=True)
class TorchUse:
    """What the settings ask of Torch, before the directory is opened: the configured ``drl_reference`` text
    and candidates (None: not configured, the defaults)."""

    reference: str | None
    backends: tuple[str, ...] | None

    def runs_torch(self, directory: Any) -> bool:
        """Whether this run may build the directory's Torch module (so its ``torch_factory`` must be checked).
        Not with a reference other than torch, when torch is not a configured candidate and the default
        candidates leave it out (torch not installed, or the factory unresolvable: see :func:`candidate_backends`)."""
        reference = self.reference.strip() if self.reference is not None else None
        if reference in (None, REFERENCE_BACKEND) or (self.backends is not None and REFERENCE_BACKEND in self.backends):
            return reference == REFERENCE_BACKEND or _torch_installed()
        return self.backends is None and _torch_installed() and factory_problem(directory) is None

    def torch_free_hint(self) -> str:
        """How to verify the directory without running its ``torch_factory``."""
        if self.reference is not None and self.reference.strip() != REFERENCE_BACKEND:
            return "or leave torch out of drl_backends to verify the ONNX file without Torch"
        return "or verify the ONNX file without Torch: drl_reference = onnxruntime"


def unused_factory_note(directory: Any) -> str:
    """The note (for the reference's reason) on a ``torch_factory`` nothing runs because it cannot be resolved."""
    problem = factory_problem(directory)
    if problem is None:
        return ""
    return (f"; its torch_factory {directory.metadata['torch_factory']!r} is not used ({problem}): the reference "
            f"needs no Torch")


def choose_reference(text: str | None, directory: Any, origin: str) -> tuple[str, str]:
    """(reference, why): the configured one (checked), else torch for a directory with a torch factory
    (and torch installed), else the first installed ONNX engine."""
    if text is None:
        name = default_reference(directory)
        if directory is not None and name != REFERENCE_BACKEND:
            why = "the classifier directory has no torch_factory" if not directory.has_torch_factory else "torch is not installed"
            return name, f"{why}, so {name} is the reference" + unused_factory_note(directory)
        return name, "the default"
    text = text.strip()
    if is_callable_spec(text):
        from pytest_drlreward.util.sourcecheck import lookup

        module, _, name = text.partition(":")
        found = lookup(module, name.split(".")[0])
        if not found.module_found:
            raise ValueError(f"cannot find module {module!r} (is it on the `pythonpath` ini setting?)")
        if found.found is False:
            raise ValueError(f"{module} ({found.path}) defines no {name!r}")
        _check_call_form(text, found.path, name, directory)
        return text, origin + unused_factory_note(directory)
    if text not in BACKEND_NAMES:
        raise ValueError(f"unknown reference {text!r}; allowed: {', '.join(BACKEND_NAMES)} or 'module:function'")
    if text == REFERENCE_BACKEND and directory is not None and not directory.has_torch_factory:
        raise ValueError(f"{directory.path} has no torch_factory (an ONNX-only directory): choose onnxruntime, "
                         f"openvino or a 'module:function' callable")
    return text, origin + (unused_factory_note(directory) if text != REFERENCE_BACKEND else "")


def _check_call_form(text: str, path: Any, name: str, directory: Any) -> None:
    """A callable reference's signature (read from its source, nothing imported) takes the directory's inputs."""
    from pytest_drlreward.backends.call_forms import call_form, params_in_source

    read = params_in_source(path, name) if path is not None and directory is not None else None
    if read is not None:
        params, signature = read
        call_form(params, [spec.name for spec in directory.inputs], f"{text.partition(':')[0]}:{signature}")


def candidate_backends(configured: tuple[str, ...] | None, reference: str, directory: Any) -> tuple[str, ...]:
    """The configured candidates (checked against the directory), or by default every engine the
    directory can run except the reference (no torch for an ONNX-only directory)."""
    torch_less = directory is not None and not directory.has_torch_factory
    problem = factory_problem(directory)  # unresolvable: Torch cannot run it
    if configured is None:
        return tuple(n for n in BACKEND_NAMES if n != reference and not ((torch_less or problem) and n == REFERENCE_BACKEND))
    if torch_less and REFERENCE_BACKEND in configured:
        raise ValueError(f"{directory.path} has no torch_factory (an ONNX-only directory), so it cannot run on 'torch'")
    if problem and REFERENCE_BACKEND in configured:
        raise ValueError(f"{directory.path}'s torch_factory {directory.metadata['torch_factory']!r}: {problem}, so it "
                         f"cannot run on 'torch'; leave torch out of drl_backends")
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
