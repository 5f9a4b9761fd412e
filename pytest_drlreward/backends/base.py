"""What every reward backend shares: input checks per named input, decisions by the directory's rule, option
checks, the missing-package error."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pytest_drlreward.classifier.directory import ModelDir
from pytest_drlreward.classifier.metadata import InputSpec
from pytest_drlreward.util.extras import require  # noqa: F401  (re-exported: backends import it from here)


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


def check_inputs(specs: tuple[InputSpec, ...], inputs: Any) -> dict[str, np.ndarray]:
    """``inputs`` (one array for a one-input model, or a dict name -> array) as C-contiguous arrays by
    input name, each checked against its spec; ValueError naming the input, the expected and the given."""
    if isinstance(inputs, dict):
        names = [spec.name for spec in specs]
        missing, extra = [n for n in names if n not in inputs], [n for n in inputs if n not in names]
        if missing or extra:
            raise ValueError(f"the model takes inputs {names}; missing {missing}" + (f", unknown {extra}" if extra else ""))
        given = dict(inputs)
    elif len(specs) == 1:
        given = {specs[0].name: inputs}
    else:
        raise ValueError(f"the model takes {len(specs)} named inputs {[s.name for s in specs]}: pass a dict "
                         f"name -> array, got a {type(inputs).__name__}")
    checked, batch = {}, None
    for spec in specs:
        array = given[spec.name]
        label = "images" if len(specs) == 1 else f"input {spec.name!r}"
        if not isinstance(array, np.ndarray):
            raise ValueError(f"{label} must be a numpy array ({spec.describe()}), got {type(array).__name__}")
        if array.dtype != np.dtype(spec.dtype):
            raise ValueError(f"{label} must be {spec.describe()}, got dtype {array.dtype}")
        if array.ndim != len(spec.shape) or array.shape[1:] != spec.item_shape:
            raise ValueError(f"{label} must be {spec.describe()}, got shape {array.shape}")
        if array.shape[0] == 0:
            raise ValueError(f"{label} must be {spec.describe()} with N >= 1, got an empty batch")
        if batch is not None and array.shape[0] != batch:
            raise ValueError(f"{label} has a batch of {array.shape[0]}, the other inputs {batch}")
        batch = array.shape[0]
        checked[spec.name] = np.ascontiguousarray(array)
    return checked


class RewardBackend:
    """A classifier run by one inference engine: its named inputs in, its float32 output out; goal
    decisions by the directory's one :class:`~pytest_drlreward.classifier.decision.DecisionRule`.

    ``inputs`` everywhere is one array (a one-input model, e.g. uint8 (N, H, W, 3)) or a dict
    name -> array. ``logits`` returns the raw output as the model gives it ((N, K), (N, 1) or (N,)).
    """

    name = "base"

    def __init__(self, model_dir: ModelDir) -> None:
        self.model_dir = model_dir
        self.inputs = model_dir.inputs
        self.input_names = tuple(spec.name for spec in model_dir.inputs)
        self.image_shape = model_dir.image_shape
        self.decision = model_dir.decision
        self.goal_index = model_dir.goal_index

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model_dir={str(self.model_dir.path)!r})"

    def warm_up(self, batch_size: int = 1) -> None:
        """One call on zero inputs of ``batch_size`` rows, so an engine's one-time work for that batch size
        (OpenVINO compiles a static shape per batch size on first use) is done now, not in a timed loop."""
        self.logits({spec.name: np.zeros((batch_size, *spec.item_shape), dtype=spec.dtype) for spec in self.inputs})

    def check_inputs(self, inputs: Any) -> dict[str, np.ndarray]:
        """``inputs`` by name, checked (ValueError naming the input, the expected and the given shape/dtype)."""
        return check_inputs(self.inputs, inputs)

    def check_images(self, images: Any) -> np.ndarray:
        """One-input models: ``images`` checked, as a C-contiguous array (kept from format 1)."""
        return self.check_inputs(images)[self.input_names[0]]

    def logits(self, inputs: Any) -> np.ndarray:
        """The model's float32 output for ``inputs`` (one array or a dict name -> array)."""
        return self._run(self.check_inputs(inputs))

    def goal_probability(self, inputs: Any) -> np.ndarray:
        """Float64 (N,): the rule's goal probability (for a ``score`` rule: the score)."""
        return self.decision.goal_probability(self.logits(inputs))

    def predict_goal(self, inputs: Any) -> np.ndarray:
        """Bool (N,): the directory's decision rule on each input."""
        return self.decision.predict_goal(self.logits(inputs))

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Default: one-input engines implement ``_logits(array)``."""
        return self._logits(inputs[self.input_names[0]])

    def _logits(self, images: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
