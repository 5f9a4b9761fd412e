"""No check passes on garbage: NaN or infinite outputs fail every check, with the count and the first index.

``require_finite(values, what)`` raises :class:`NonFiniteError` (or the check's own error class) when
``values`` holds a NaN or an infinity. NaN compares unequal to everything, so without this a NaN
model "agrees" with itself, flips no decision against another NaN model and reads as a tiny error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_drlreward.checks._format import MAX_LISTED, CheckError


class NonFiniteError(CheckError):
    """A backend or an env gave NaN or infinite numbers where a check needs real ones."""


def _where(index: tuple[int, ...], value: Any, ndim: int) -> str:
    if ndim == 2:
        return f"input {index[0]} element {index[1]} = {value}"
    if ndim == 1:
        return f"index {index[0]} = {value}"
    return f"index {tuple(int(i) for i in index)} = {value}"


def require_finite(values: Any, what: str, *, error: type[CheckError] = NonFiniteError, unit: str = "values") -> np.ndarray:
    """``values`` as an array if every element is finite; else ``error`` naming ``what``, the count and where.

    ``what`` says whose numbers these are, e.g. ``"candidate backend 'openvino-int8'"``.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "fc":
        return array
    bad = np.argwhere(~np.isfinite(array))
    if len(bad) == 0:
        return array
    shown = ", ".join(_where(tuple(int(i) for i in index), array[tuple(index)], array.ndim) for index in bad[:MAX_LISTED])
    more = f" (+{len(bad) - MAX_LISTED} more)" if len(bad) > MAX_LISTED else ""
    raise error(f"{what} returned {len(bad)} non-finite {unit} out of {array.size}: {shown}{more}; a check "
                f"cannot pass on NaN or infinite outputs (is the model, or its quantisation, broken?)")
