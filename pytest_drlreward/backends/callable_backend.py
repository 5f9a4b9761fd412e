"""A Python callable as a backend (``drl_reference = module:function``): how a JAX/Flax or TensorFlow team
brings its own framework's outputs to compare the exported engines with.

The callable gets numpy inputs (one array for a one-input model, else a dict name -> array, each
checked against the directory's ``inputs``) and returns the model's output as a numpy-convertible
array; it is imported when the backend is loaded, never from inside the classifier directory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pytest_drlreward.backends.base import RewardBackend
from pytest_drlreward.classifier.directory import ModelDir


def import_callable(spec: str) -> Callable[..., Any]:
    """``module:function`` (dotted attributes allowed) -> the callable; ValueError naming what is wrong."""
    from pytest_drlreward.resolve import resolve

    return resolve(spec, "the callable reference")


class CallableBackend(RewardBackend):
    """``function(inputs) -> outputs`` on numpy arrays, judged by the directory's decision rule."""

    def __init__(self, model_dir: ModelDir, function: Callable[..., Any] | str) -> None:
        super().__init__(model_dir)
        self.spec = function if isinstance(function, str) else getattr(function, "__qualname__", repr(function))
        self.function = import_callable(function) if isinstance(function, str) else function
        self.name = self.spec

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        given: Any = next(iter(inputs.values())) if len(inputs) == 1 else inputs
        return np.asarray(self.function(given), dtype=np.float32)
