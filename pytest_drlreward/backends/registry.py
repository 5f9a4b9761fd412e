"""The one registry of reward backends: names, the package and extra each needs, and ``load_backend``.

Only the standard library is imported here; a backend's module (and its engine) is imported when it
is loaded. ``BACKEND_NAMES`` is the single list of classifier backend names that the plugin, the
checks and ``panda_env`` use. ``VARIANTS`` adds names that load one of them with fixed options
(``openvino-int8``: OpenVINO on the classifier directory's own INT8 model); ``load_backend`` and the
plugin's ``drl_backends`` take them too (``CANDIDATE_NAMES``).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_drlreward.classifier.directory import ModelDir, open_model_dir
from pytest_drlreward.util.extras import DISTRIBUTION, BackendUnavailableError, install_hint  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class BackendEntry:
    """Where a backend's class lives, the package it imports and the extra that installs that package."""

    target: str  # "module:Class"
    package: str
    extra: str


REGISTRY: dict[str, BackendEntry] = {
    "torch": BackendEntry("pytest_drlreward.backends.torch_backend:TorchBackend", "torch", "torch"),
    "onnxruntime": BackendEntry("pytest_drlreward.backends.onnxruntime_backend:OnnxRuntimeBackend",
                                "onnxruntime", "onnxruntime"),
    "openvino": BackendEntry("pytest_drlreward.backends.openvino_backend:OpenVinoBackend", "openvino", "openvino"),
}
BACKEND_NAMES: tuple[str, ...] = tuple(REGISTRY)
REFERENCE_BACKEND = "torch"


@dataclass(frozen=True)
class BackendVariant:
    """A name for a registered backend loaded with fixed options.

    ``quantized`` variants compute other numbers by design (INT8): checks judge them by their
    decisions (argmax agreement, accuracy budgets), not by elementwise logit tolerance.
    """

    base: str
    options: dict[str, Any] = field(default_factory=dict)
    quantized: bool = False
    needs: str = ""  # what the classifier directory must hold, for messages


VARIANTS: dict[str, BackendVariant] = {
    "openvino-int8": BackendVariant("openvino", {"int8_model": True}, quantized=True,
                                    needs="an INT8 model in <model_dir>/int8"),
    # bf16 moves logits by up to ~0.6 on the shipped classifier: judged by decisions, as INT8 is
    "openvino-bf16": BackendVariant("openvino", {"precision": "bf16"}, quantized=True, needs="a CPU with BF16"),
}
CANDIDATE_NAMES: tuple[str, ...] = (*BACKEND_NAMES, *VARIANTS)


def is_quantized(name: str) -> bool:
    """Whether backend ``name`` is judged by decisions rather than elementwise tolerance."""
    return name in VARIANTS and VARIANTS[name].quantized


def base_backend(name: str) -> str:
    """The registered backend a name loads (itself, or a variant's base); ValueError for unknown names."""
    if name in VARIANTS:
        return VARIANTS[name].base
    check_backend_name(name)
    return name


def check_backend_name(name: str) -> BackendEntry:
    """The registry entry of ``name``; ValueError naming the allowed values otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown reward backend {name!r}; allowed values: {', '.join(BACKEND_NAMES)}")
    return REGISTRY[name]


def missing_package(name: str) -> str | None:
    """Why backend ``name`` (or variant) cannot load here (its package is not installed, with the pip command), or None."""
    entry = REGISTRY[base_backend(name)]
    if importlib.util.find_spec(entry.package) is None:
        return f"the {name!r} backend needs {entry.package!r}, which is not installed: {install_hint(entry.extra)}"
    return None


ENGINE_REFERENCES = ("onnxruntime", "openvino")  # references that need no Torch, in order of preference


def is_callable_spec(name: str) -> bool:
    """Whether a backend name is a ``module:function`` callable (a reference only)."""
    return ":" in str(name)


def default_reference(model_dir: ModelDir | None) -> str:
    """``torch`` when the directory has a Torch factory and torch is installed, else the first installed
    ONNX engine (ONNX Runtime, then OpenVINO); ``torch`` when nothing is known."""
    if model_dir is None or model_dir.has_torch_factory:
        if model_dir is None or importlib.util.find_spec("torch") is not None:
            return REFERENCE_BACKEND
    for name in ENGINE_REFERENCES:
        if importlib.util.find_spec(REGISTRY[name].package) is not None:
            return name
    return REFERENCE_BACKEND


def load_reference(name: str, model_dir: str | Path | ModelDir, **options: Any) -> Any:
    """Load a reference: a backend name (as :func:`load_backend`) or a ``module:function`` callable."""
    if is_callable_spec(name):
        from pytest_drlreward.backends.callable_backend import CallableBackend

        directory = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
        return CallableBackend(directory, name, **options)
    return load_backend(name, model_dir, **options)


def load_backend(name: str, model_dir: str | Path | ModelDir, **options: Any) -> Any:
    """Load the classifier directory ``model_dir`` on backend ``name`` (options go to the backend).

    ``name`` may be a variant (``VARIANTS``, e.g. ``openvino-int8``): its base backend is loaded with the
    variant's options (given options win) and named after the variant.
    ``trust_code=True`` lets the Torch backend run a ``torch_factory`` that lives inside the directory, and
    ``trusted_modules`` (e.g. ``("torchvision.models.*",)``) one defined in those installed modules (see
    ``pytest_drlreward.util.allowlist``); the other backends run no Python and ignore both.
    Raises ``ValueError`` for an unknown name, ``BackendUnavailableError`` (naming the extra to install)
    when the engine is missing, ``ModelDirError`` when the directory is not a valid classifier directory.
    """
    if name in VARIANTS:
        variant = VARIANTS[name]
        backend = load_backend(variant.base, model_dir, **{**variant.options, **options})
        backend.name = name
        return backend
    entry = check_backend_name(name)
    reason = missing_package(name)
    if reason is not None:
        raise BackendUnavailableError(reason)
    directory = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    trusted = tuple(options.pop("trusted_modules", ()) or ())
    if options.pop("trust_code", False) and name == REFERENCE_BACKEND:
        options["trust_code"] = True
    if trusted and name == REFERENCE_BACKEND:
        options["trusted_modules"] = trusted
    from pytest_drlreward.util.resolve import resolve

    return resolve(entry.target, f"the {name!r} backend class")(directory, **options)
