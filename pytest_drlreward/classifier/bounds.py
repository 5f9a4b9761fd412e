"""Bounds on what a classifier directory and the plugin's settings may ask for, so bad input is one error at start.

- ``metadata.json`` (and ``int8.json``) nest at most :data:`MAX_METADATA_DEPTH` levels;
- one input image holds at most :data:`MAX_INPUT_ELEMENTS` elements, each axis at most :data:`MAX_INPUT_SIDE`
  (a 4096 x 4096 RGB image is 50 M elements: within both);
- a rollout (``drl_fidelity_steps``) is at most :data:`MAX_FIDELITY_STEPS` steps, and its images together at
  most :data:`MAX_ROLLOUT_BYTES`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MAX_METADATA_DEPTH = 32
MAX_INPUT_SIDE = 8192
MAX_INPUT_ELEMENTS = 1 << 26  # 64 M elements: 64 MiB a uint8 image
MAX_FIDELITY_STEPS = 1_000_000
MAX_ROLLOUT_BYTES = 8 << 30  # 8 GiB of rollout images


def depth_of(value: Any, limit: int = MAX_METADATA_DEPTH) -> int:
    """How deep ``value`` (parsed JSON) nests; counting stops past ``limit`` (no recursion, so no RecursionError)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_image_shape(shape: Sequence[Any], where: str) -> None:
    """Raise ValueError if one input of ``shape`` (batch axis first, ``None``) exceeds the bounds above."""
    sides = [int(n) for n in shape[1:]]
    if any(n > MAX_INPUT_SIDE for n in sides) or math.prod(sides) > MAX_INPUT_ELEMENTS:
        raise ValueError(f"{where}: input shape {list(shape)} is too large: each axis may be at most {MAX_INPUT_SIDE} "
                         f"and one input at most {MAX_INPUT_ELEMENTS} elements")


def check_rollout_size(steps: int, image_shape: Sequence[int] | None, where: str) -> None:
    """Raise ValueError if a rollout of ``steps`` steps (keeping one uint8 image of ``image_shape`` a step) is too big."""
    if steps > MAX_FIDELITY_STEPS:
        raise ValueError(f"{where}: {steps} steps is more than {MAX_FIDELITY_STEPS}")
    if image_shape is not None and steps * math.prod(image_shape) > MAX_ROLLOUT_BYTES:
        raise ValueError(f"{where}: {steps} steps of {tuple(image_shape)} images would keep "
                         f"{steps * math.prod(image_shape) / 2**30:.1f} GiB of images (at most {MAX_ROLLOUT_BYTES >> 30} GiB)")
