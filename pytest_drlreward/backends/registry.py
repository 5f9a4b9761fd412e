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

DISTRIBUTION = "pytest-drlreward"


class BackendUnavailableError(ImportError):
    """The Python package a backend needs is not installed."""


def _extra_requirements(extra: str, seen: frozenset = frozenset()) -> list[str]:
    """The requirements an extra of this distribution adds (its own extras expanded), from the installed
    metadata; empty when the distribution is not installed (a bare source tree)."""
    import importlib.metadata
    import re

    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    found: list[str] = []
    for line in requires:
        requirement, _, marker = line.partition(";")
        if not re.search(rf"""extra\s*==\s*["']{re.escape(extra)}["']""", marker):
            continue
        own = re.fullmatch(rf"\s*{re.escape(DISTRIBUTION)}\[([^\]]+)\]\s*", requirement)
        if own:  # e.g. panda = ["pytest-drlreward[torch]", ...]
            for inner in own.group(1).split(","):
                if inner.strip() not in seen:
                    found += _extra_requirements(inner.strip(), seen | {extra})
        else:
            found.append(requirement.strip())
    return list(dict.fromkeys(found))


def install_hint(extra: str) -> str:
    """The pip command that installs an extra of this distribution, one that works without a package index.

    The distribution is not on PyPI: the hint installs the extra's own packages (which are), and says how
    to install the extra from a clone of the repository.
    """
    packages = " ".join(f'"{requirement}"' if any(c in requirement for c in "<>=!~ ") else requirement
                        for requirement in _extra_requirements(extra))
    from_clone = f'pip install ".[{extra}]" in a clone of {DISTRIBUTION}'
    if not packages:
        return f"{from_clone} (the {DISTRIBUTION}[{extra}] extra)"
    return f"pip install {packages} (the {DISTRIBUTION}[{extra}] extra; or {from_clone})"


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


def load_backend(name: str, model_dir: str | Path | ModelDir, **options: Any) -> Any:
    """Load the classifier directory ``model_dir`` on backend ``name`` (options go to the backend).

    ``name`` may be a variant (``VARIANTS``, e.g. ``openvino-int8``): its base backend is loaded with the
    variant's options (given options win) and named after the variant.
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
    module_name, _, class_name = entry.target.partition(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(directory, **options)
