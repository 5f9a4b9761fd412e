"""Small text helpers shared by the checks' failure messages."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from pytest_drlreward.errors import CheckError  # noqa: F401  (re-exported: the checks import it from here)

MAX_LISTED = 20


def fmt(x: float) -> str:
    """A compact number: ``1e-4``, ``0.5``, ``3.1e-07`` style."""
    if x == 0 or not math.isfinite(x) or 1e-2 <= abs(x) < 1e4:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def show(value: Any) -> str:
    """A short readable rendering of an observation, action or other value."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=20, edgeitems=3, max_line_width=10_000)
        return f"array({text}, dtype={value.dtype}, shape={value.shape})"
    if isinstance(value, np.generic):
        return repr(value)
    return reprlib.repr(value)


def listed(indices: Sequence[int], limit: int = MAX_LISTED) -> str:
    """At most ``limit`` indices, with a note of how many more there are."""
    shown = [int(i) for i in indices[:limit]]
    more = len(indices) - len(shown)
    return f"{shown}" + (f" (+{more} more)" if more else "")


def backend_name(backend: Any) -> str:
    """A backend's ``name`` attribute, or its class name."""
    return str(getattr(backend, "name", type(backend).__name__))
