"""Why an env's reward differs from the classifier directory's decision: two causes that can be tested by replaying
the directory on altered inputs (the colour channels reversed; the previous step's frame). A cause is named only
when it explains every differing step tried.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_drlreward.checks._inputs import take
from pytest_drlreward.checks.decisions import decide

MAX_TRIED = 64  # differing steps replayed per cause


def _channel_axis(array: np.ndarray, spec: Any) -> int | None:
    """The colour axis of a batch of 3-channel images (the spec's layout, else channels last), or None."""
    layout = str(getattr(spec, "layout", "NHWC")).upper()
    axis = 1 if layout.startswith("NC") else -1
    return axis if array.ndim == 4 and array.shape[axis] == 3 else None


def _colour_swapped(inputs: Any, specs: Any) -> Any:
    """``inputs`` with every 3-channel image input's channels reversed (RGB <-> BGR); None when none has three."""
    named = inputs if isinstance(inputs, dict) else {"": inputs}
    by_name = {getattr(spec, "name", ""): spec for spec in (specs or ())}
    out, swapped = {}, False
    for position, (name, array) in enumerate(named.items()):
        spec = by_name.get(name) or (tuple(specs)[position] if specs and len(tuple(specs)) > position else None)
        axis = _channel_axis(np.asarray(array), spec)
        out[name] = np.flip(array, axis=axis).copy() if axis is not None else array
        swapped |= axis is not None
    if not swapped:
        return None
    return out if isinstance(inputs, dict) else out[""]


def _explains(backend: Any, inputs: Any, decisions: np.ndarray | None, probabilities: np.ndarray | None, atol: float,
              batch_size: int | None) -> bool:
    """Whether the env's values are ``backend``'s on ``inputs`` at every row."""
    decided = decide(backend, inputs, batch_size)
    if decisions is not None and decided.rule.decides and not np.array_equal(decisions.astype(bool), decided.goal):
        return False
    return probabilities is None or bool(np.all(np.abs(probabilities.astype(np.float64) - decided.probability) <= atol))


def likely_cause(backend: Any, rollout: Any, rows: np.ndarray, decisions: np.ndarray | None,
                 probabilities: np.ndarray | None, atol: float, batch_size: int | None) -> str | None:
    """The cause that explains the env's values at every differing step in ``rows`` tried, or None."""
    rows = np.asarray(rows[:MAX_TRIED])

    def env_at(index: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        return (None if decisions is None else decisions[index], None if probabilities is None else probabilities[index])

    swapped = _colour_swapped(take(rollout.images, rows), getattr(backend, "inputs", None))
    if swapped is not None and _explains(backend, swapped, *env_at(rows), atol, batch_size):
        return (f"colour order: at all {len(rows)} differing steps tried, the env's values are the directory's on the "
                f"same inputs with the colour channels reversed (BGR where the model takes RGB, or the reverse)")
    later = rows[np.asarray(rollout.episode_steps)[rows] > 0]  # the first step's previous frame (the reset) is not kept
    if len(later) and _explains(backend, take(rollout.images, later - 1), *env_at(later), atol, batch_size):
        return (f"a stale frame: at all {len(later)} differing steps tried after an episode's first, the env's values "
                f"are the directory's on the previous step's inputs (the frame rendered before the move)")
    return None
