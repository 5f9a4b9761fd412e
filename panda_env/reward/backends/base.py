"""What every reward backend shares: input checks, goal decisions, and the missing-package error."""

from __future__ import annotations

import importlib

import numpy as np

from panda_env.reward.artifacts import ModelDir


class BackendUnavailableError(ImportError):
    """The Python package a backend needs is not installed."""


def require(package: str, backend: str, pip_name: str | None = None):
    """Import ``package`` or raise an error that says which pip package to install."""
    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise BackendUnavailableError(
            f"the {backend!r} reward backend needs the {package!r} package, which is not installed: "
            f"pip install {pip_name or package}") from error


class RewardBackend:
    """A classifier run by one inference engine: uint8 RGB (N, H, W, 3) in, float32 logits (N, K) out."""

    name = "base"

    def __init__(self, model_dir: ModelDir) -> None:
        self.model_dir = model_dir
        self.image_shape = model_dir.image_shape
        self.goal_index = model_dir.goal_index

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model_dir={str(self.model_dir.path)!r})"

    def check_images(self, images) -> np.ndarray:
        """Return ``images`` as a C-contiguous uint8 array, or raise ValueError naming what is wrong."""
        if not isinstance(images, np.ndarray):
            raise ValueError(f"images must be a numpy array, got {type(images).__name__}")
        expected = f"uint8 (N, {', '.join(map(str, self.image_shape))})"
        if images.dtype != np.uint8:
            raise ValueError(f"images must be {expected}, got dtype {images.dtype}")
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise ValueError(f"images must be {expected}, got shape {images.shape}")
        if images.shape[0] == 0:
            raise ValueError(f"images must be {expected} with N >= 1, got an empty batch")
        return np.ascontiguousarray(images)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Float32 logits (N, K) for uint8 RGB images (N, H, W, 3)."""
        return self._logits(self.check_images(images))

    def predict_goal(self, images: np.ndarray) -> np.ndarray:
        """Bool (N,): whether each image shows the goal (argmax is the goal class)."""
        return np.argmax(self.logits(images), axis=1) == self.goal_index

    def _logits(self, images: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
