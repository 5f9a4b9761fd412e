"""Model inputs as the checks pass them around: one array (a one-input model) or a dict name -> array.

Messages name a batch position by what the batch holds: ``image 3`` in a batch of RGB images, ``batch row 3``
otherwise (with named inputs, row 3 of every input: never to be read as the third input).
"""

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


def is_image_batch(inputs: Any) -> bool:
    """Whether ``inputs`` is one batch of uint8 RGB images (N, H, W, 3)."""
    return (not isinstance(inputs, dict) and isinstance(inputs, np.ndarray) and inputs.dtype == np.uint8
            and inputs.ndim == 4 and inputs.shape[-1] == 3)


def noun(inputs: Any) -> str:
    """``images`` for a batch of RGB images, else ``inputs`` (for messages)."""
    return "images" if is_image_batch(inputs) else "inputs"


def row_name(inputs: Any, row: int) -> str:
    """How messages name batch position ``row``: ``image 3`` for RGB images, else ``batch row 3``."""
    return f"image {row}" if is_image_batch(inputs) else f"batch row {row}"


def _shape(array: np.ndarray) -> str:
    return f"{'x'.join(map(str, array.shape[1:])) or 'scalar'} {array.dtype}"


def describe_inputs(inputs: Any) -> str:
    """What one batch row holds: ``16x16x3 uint8``, or each named input (``front: 3x64x64 float32, ...``)."""
    if isinstance(inputs, dict):
        return ", ".join(f"{name}: {_shape(np.asarray(value))}" for name, value in inputs.items())
    return _shape(np.asarray(inputs))
