"""What every reward backend shares: input checks, goal decisions, option checks, the missing-package error."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pytest_drlreward.classifier.directory import ModelDir
from pytest_drlreward.extras import require  # noqa: F401  (re-exported: backends import it from here)


def check_threads(threads: Any, backend: str) -> int | None:
    """``threads`` as an int in [1, this machine's cores], or None; ValueError naming the option otherwise."""
    if threads is None:
        return None
    cores = os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= cores:
        raise ValueError(f"{backend} backend option threads={threads!r} must be an integer from 1 to {cores} "
                         f"(this machine's cores), or None for the engine's default")
    return int(threads)


def goal_probabilities(logits: np.ndarray, goal_index: int) -> np.ndarray:
    """Softmax probability of the goal class for each row of logits (N, K), as float64 (N,)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted[:, goal_index] / shifted.sum(axis=1)


class RewardBackend:
    """A classifier run by one inference engine: uint8 RGB (N, H, W, 3) in, float32 logits (N, K) out."""

    name = "base"

    def __init__(self, model_dir: ModelDir) -> None:
        self.model_dir = model_dir
        self.image_shape = model_dir.image_shape
        self.goal_index = model_dir.goal_index

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model_dir={str(self.model_dir.path)!r})"

    def check_images(self, images: Any) -> np.ndarray:
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
        """Bool (N,): whether each image shows the goal (its argmax is the metadata's ``goal_index``)."""
        return np.argmax(self.logits(images), axis=1) == self.goal_index

    def _logits(self, images: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
