"""Reward backends: the registry of names (``registry``), the shared base class and the three engines.

Importing this package imports no engine and not numpy; ``RewardBackend`` and ``goal_probabilities``
load ``base`` (numpy) on first use.
"""

from __future__ import annotations

from typing import Any

from pytest_drlreward.backends.registry import (
    BACKEND_NAMES,
    CANDIDATE_NAMES,
    REFERENCE_BACKEND,
    REGISTRY,
    VARIANTS,
    BackendEntry,
    BackendUnavailableError,
    BackendVariant,
    base_backend,
    check_backend_name,
    default_reference,
    install_hint,
    is_quantized,
    load_backend,
    load_reference,
    missing_package,
)

__all__ = ["BACKEND_NAMES", "CANDIDATE_NAMES", "REFERENCE_BACKEND", "REGISTRY", "VARIANTS", "BackendEntry",
           "BackendUnavailableError", "BackendVariant", "RewardBackend", "base_backend", "check_backend_name",
           "default_reference", "goal_probabilities", "install_hint", "is_quantized", "load_backend", "load_reference",
           "missing_package"]


def __getattr__(name: str) -> Any:
    if name in ("RewardBackend", "goal_probabilities"):
        from pytest_drlreward.backends import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
