"""One validator for integer arguments, used by the core, the backends and ``panda_env`` (standard library and numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_int(value: Any, name: str, *, low: int = 1, high: int | None = None, allow_none: bool = False) -> int | None:
    """``value`` as an int in [low, high] (``None`` passes when ``allow_none``); ValueError naming ``name`` otherwise.

    Bools, floats (even 2.0) and strings are refused: an argument that should count something must be an integer.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        if low == 1:
            kind = "a positive integer" + (f" up to {high}" if high is not None else "")
        elif high is not None:
            kind = f"an integer from {low} to {high}"
        else:
            kind = f"an integer >= {low}"
        raise ValueError(f"{name} must be {kind}{' or None' if allow_none else ''}, got {value!r}")
    return int(value)
