"""Reward layer: the classifier model, its preprocessing, its backends and its on-disk directory.

``load_backend(name, model_dir=None, **options)`` returns a backend with ``.name``,
``.logits(images) -> float32 (N, 2)`` and ``.predict_goal(images) -> bool (N,)`` for uint8 RGB
``images`` of shape (N, H, W, 3); ``model_dir=None`` is the classifier shipped in this package.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from panda_env.reward.artifacts import (DEFAULT_MODEL_DIR, ModelDir, ModelDirError, export_classifier,
                                        open_model_dir)
from panda_env.reward.backends.base import BackendUnavailableError, RewardBackend

_BACKENDS = {
    "torch": "panda_env.reward.backends.torch_backend:TorchBackend",
    "onnxruntime": "panda_env.reward.backends.onnxruntime_backend:OnnxRuntimeBackend",
    "openvino": "panda_env.reward.backends.openvino_backend:OpenVinoBackend",
}
BACKEND_NAMES = tuple(_BACKENDS)


def load_backend(name: str, model_dir: str | Path | ModelDir | None = None, **options) -> RewardBackend:
    """Load the classifier in ``model_dir`` (default: the shipped one) on backend ``name``."""
    if name not in _BACKENDS:
        hint = " ('oracle' is a reward_backend of the env, not a classifier backend)" if name == "oracle" else ""
        raise ValueError(f"unknown reward backend {name!r}; allowed values: {', '.join(BACKEND_NAMES)}{hint}")
    directory = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    module_name, _, class_name = _BACKENDS[name].partition(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(directory, **options)


__all__ = ["BACKEND_NAMES", "DEFAULT_MODEL_DIR", "BackendUnavailableError", "ModelDir", "ModelDirError",
           "RewardBackend", "export_classifier", "load_backend", "open_model_dir"]
