"""Hypothesis strategies that draw elements of Gymnasium spaces, images and seeds.

Every strategy is built from :mod:`hypothesis.extra.numpy`, so drawn arrays shrink
towards simple values and carry the exact dtype and shape that the space declares.
Every element drawn by :func:`from_space` satisfies ``space.contains(element)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

__all__ = [
    "SUPPORTED_SPACES",
    "action_sequences",
    "actions",
    "from_space",
    "image_batches",
    "input_batches",
    "observations",
    "seeds",
]

# A Box whose bounds take more distinct (low, high) pairs than this is drawn
# under its widest bounds and then clipped element-wise into its own bounds.
_MAX_BOUND_GROUPS = 32
_MAX_SEED = 2**31 - 1


def _float_elements(dtype: np.dtype, low: float, high: float) -> st.SearchStrategy[float]:
    """Finite floats of ``dtype``'s width in [low, high]; infinite bounds mean unbounded."""
    return st.floats(
        min_value=None if np.isinf(low) else low,
        max_value=None if np.isinf(high) else high,
        allow_nan=False,
        allow_infinity=False,
        width=dtype.itemsize * 8,
    )


def _scalar_elements(dtype: np.dtype, low: Any, high: Any) -> st.SearchStrategy[Any]:
    """Scalars of ``dtype`` in [low, high]; bounds are values already stored in that dtype."""
    if dtype.kind == "f":
        return _float_elements(dtype, float(low), float(high))
    if dtype.kind == "b":
        return st.sampled_from([False, True][int(low) : int(high) + 1])
    return st.integers(min_value=int(low), max_value=int(high))


def _grouped_array(
    dtype: np.dtype, shape: tuple[int, ...], pairs: np.ndarray, inverse: np.ndarray, low: np.ndarray, high: np.ndarray
) -> st.SearchStrategy[np.ndarray]:
    """One ``arrays`` draw per distinct (low, high) pair, scattered back into ``shape``."""
    flat_low, flat_high = low.reshape(-1), high.reshape(-1)
    groups = [np.flatnonzero(inverse == g) for g in range(len(pairs))]
    parts = [
        arrays(dtype, (idx.size,), elements=_scalar_elements(dtype, flat_low[idx[0]], flat_high[idx[0]]))
        for idx in groups
    ]

    def assemble(drawn: tuple[np.ndarray, ...]) -> np.ndarray:
        out = np.empty(flat_low.size, dtype=dtype)
        for idx, values in zip(groups, drawn, strict=True):
            out[idx] = values
        return out.reshape(shape)

    return st.tuples(*parts).map(assemble)


def _bounded_arrays(
    dtype: np.dtype, shape: tuple[int, ...], low: np.ndarray, high: np.ndarray
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``dtype`` and ``shape`` whose elements lie within element-wise bounds."""
    low = np.broadcast_to(np.asarray(low, dtype=dtype), shape)
    high = np.broadcast_to(np.asarray(high, dtype=dtype), shape)
    if low.size == 0:
        return st.just(np.empty(shape, dtype=dtype))
    stacked = np.stack([low.reshape(-1), high.reshape(-1)], axis=1)
    pairs, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(pairs) == 1:
        return arrays(dtype, shape, elements=_scalar_elements(dtype, low.flat[0], high.flat[0]))
    if len(pairs) <= _MAX_BOUND_GROUPS:
        return _grouped_array(dtype, shape, pairs, inverse, low, high)
    widest = _scalar_elements(dtype, low.min(), high.max())
    return arrays(dtype, shape, elements=widest).map(lambda x: np.clip(x, low, high).astype(dtype))


def _box(space: spaces.Box) -> st.SearchStrategy[np.ndarray]:
    return _bounded_arrays(space.dtype, space.shape, space.low, space.high)


def _discrete(space: spaces.Discrete) -> st.SearchStrategy[np.integer]:
    start, n = int(space.start), int(space.n)
    return st.integers(min_value=start, max_value=start + n - 1).map(space.dtype.type)


def _multi_discrete(space: spaces.MultiDiscrete) -> st.SearchStrategy[np.ndarray]:
    high = space.start + (space.nvec - 1)
    return _bounded_arrays(space.dtype, space.shape, space.start, high)


def _multi_binary(space: spaces.MultiBinary) -> st.SearchStrategy[np.ndarray]:
    return arrays(space.dtype, space.shape, elements=st.integers(min_value=0, max_value=1))


def _tuple(space: spaces.Tuple) -> st.SearchStrategy[tuple]:
    return st.tuples(*(from_space(sub) for sub in space.spaces))


def _dict(space: spaces.Dict) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({key: from_space(sub) for key, sub in space.spaces.items()})


_BUILDERS: dict[type[spaces.Space], Callable[[Any], st.SearchStrategy[Any]]] = {
    spaces.Box: _box,
    spaces.Discrete: _discrete,
    spaces.MultiDiscrete: _multi_discrete,
    spaces.MultiBinary: _multi_binary,
    spaces.Tuple: _tuple,
    spaces.Dict: _dict,
}

SUPPORTED_SPACES: tuple[type[spaces.Space], ...] = tuple(_BUILDERS)


def from_space(space: spaces.Space) -> st.SearchStrategy[Any]:
    """Draw elements of a Gymnasium ``space``; each one satisfies ``space.contains``.

    Supports Box (any dtype, finite values only, partly or wholly unbounded bounds),
    Discrete, MultiDiscrete, MultiBinary, and Tuple and Dict of those, nested to any depth.
    Raises ``TypeError`` for any other space.
    """
    for space_type, build in _BUILDERS.items():
        if isinstance(space, space_type):
            return build(space)
    supported = ", ".join(t.__name__ for t in SUPPORTED_SPACES)
    raise TypeError(f"from_space: unsupported space type {type(space).__name__} ({space!r}); supported: {supported}")


def actions(space: spaces.Space) -> st.SearchStrategy[Any]:
    """Draw actions from an action ``space`` (same as :func:`from_space`)."""
    return from_space(space)


def observations(space: spaces.Space) -> st.SearchStrategy[Any]:
    """Draw observations from an observation ``space`` (same as :func:`from_space`)."""
    return from_space(space)


def action_sequences(space: spaces.Space, min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[list]:
    """Draw lists of ``min_size`` to ``max_size`` actions from ``space``."""
    return st.lists(from_space(space), min_size=min_size, max_size=max_size)


def image_batches(
    height: int, width: int, channels: int = 3, min_batch: int = 1, max_batch: int = 8
) -> st.SearchStrategy[np.ndarray]:
    """Draw uint8 image batches of shape (N, height, width, channels), N in [min_batch, max_batch].

    Pixels take any value in 0..255; large arrays are drawn mostly from one fill
    value plus scattered pixels, which keeps drawing fast.
    """
    shapes = st.integers(min_value=min_batch, max_value=max_batch).map(lambda n: (n, height, width, channels))
    pixels = st.integers(min_value=0, max_value=255)
    return arrays(np.uint8, shapes, elements=pixels, fill=pixels)


def _input_array(spec: Any, batch: int) -> st.SearchStrategy[np.ndarray]:
    dtype = np.dtype(spec.dtype)
    low, high = spec.range
    if dtype.kind == "f":
        low, high = float(np.float32(low)), float(np.float32(high))
    elements = _scalar_elements(dtype, low, high)
    return arrays(dtype, (batch, *spec.item_shape), elements=elements, fill=elements)


def input_batches(specs: Any, min_batch: int = 1, max_batch: int = 8) -> st.SearchStrategy[Any]:
    """Draw a batch for a model's inputs (``ModelDir.inputs``: each with name, shape, dtype, range):
    one array for a one-input model, else a dict name -> array, all with the same N in
    [min_batch, max_batch], each input's values in its declared ``range`` (the metadata's; uint8 0..255 unless
    it says otherwise, and a float input's range is required when a directory is written)."""
    specs = tuple(specs)

    def draw_all(batch: int) -> st.SearchStrategy[Any]:
        if len(specs) == 1:
            return _input_array(specs[0], batch)
        return st.fixed_dictionaries({spec.name: _input_array(spec, batch) for spec in specs})

    return st.integers(min_value=min_batch, max_value=max_batch).flatmap(draw_all)


def seeds() -> st.SearchStrategy[int]:
    """Draw seeds for ``env.reset(seed=...)``: integers in [0, 2**31 - 1]."""
    return st.integers(min_value=0, max_value=_MAX_SEED)
