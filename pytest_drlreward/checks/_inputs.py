"""Model inputs as the checks pass them around: one array (a one-input model) or a dict name -> array."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_inputs(inputs: Any) -> Any:
    """``inputs`` with every array as a numpy array (a dict stays a dict)."""
    if isinstance(inputs, dict):
        return {name: np.asarray(value) for name, value in inputs.items()}
    return np.asarray(inputs)


def batch_len(inputs: Any) -> int:
    """N, the batch size (of the first input of a dict)."""
    if isinstance(inputs, dict):
        return len(next(iter(inputs.values()))) if inputs else 0
    return len(inputs) if np.ndim(inputs) else 0


def take(inputs: Any, index: Any) -> Any:
    """Rows ``index`` (a slice or index array) of every input."""
    if isinstance(inputs, dict):
        return {name: value[index] for name, value in inputs.items()}
    return inputs[index]


def noun(inputs: Any) -> str:
    """``images`` for one array, ``inputs`` for named inputs (for messages)."""
    return "inputs" if isinstance(inputs, dict) else "images"
