"""Reward layer: our classifier (SqueezeNet and its preprocessing), the shipped classifier directory,
INT8 quantisation, and the seed demo's reward path. The directory format and the backends are
``pytest_drlreward``'s core; this module binds them to the shipped classifier.

``load_backend(name, model_dir=None, **options)`` returns a backend with ``.name``,
``.logits(images) -> float32 (N, 2)`` and ``.predict_goal(images) -> bool (N,)`` for uint8 RGB
``images`` of shape (N, H, W, 3); ``model_dir=None`` is the classifier shipped in this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_drlreward import backends as _core_backends
from pytest_drlreward.backends import BACKEND_NAMES, BackendUnavailableError
from pytest_drlreward.classifier import ModelDir, ModelDirError
from pytest_drlreward.classifier import open_model_dir as _open_model_dir

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"
TRUSTED_MODULES = ("panda_env.reward.model",)  # our classifier's torch_factory: trusted by configuration, not by default


def open_model_dir(model_dir: str | Path | ModelDir | None = None) -> ModelDir:
    """The checked classifier directory ``model_dir`` (``None``: the one shipped in ``panda_env``)."""
    if isinstance(model_dir, ModelDir):
        return model_dir
    return _open_model_dir(DEFAULT_MODEL_DIR if model_dir is None else model_dir)


def load_backend(name: str, model_dir: str | Path | ModelDir | None = None, **options: Any) -> Any:
    """Load the classifier in ``model_dir`` (default: the shipped one) on backend ``name``."""
    if name == "oracle":
        raise ValueError(f"unknown reward backend {name!r}; allowed values: {', '.join(BACKEND_NAMES)} "
                         f"('oracle' is a reward_backend of the env, not a classifier backend)")
    _core_backends.check_backend_name(name)
    options.setdefault("trusted_modules", TRUSTED_MODULES)
    return _core_backends.load_backend(name, open_model_dir(model_dir), **options)


def __getattr__(name: str) -> Any:
    if name == "export_classifier":
        from pytest_drlreward.classifier.export import export_classifier as value

        return value
    if name == "RewardBackend":
        return _core_backends.RewardBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BACKEND_NAMES", "DEFAULT_MODEL_DIR", "BackendUnavailableError", "ModelDir", "ModelDirError",
           "RewardBackend", "export_classifier", "load_backend", "open_model_dir"]
