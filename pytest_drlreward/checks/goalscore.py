"""One place where the checks ask a backend "goal or not, and how likely": the false-goal search, the
goal-seeking rollouts, fidelity and the threshold sweep all call :func:`goal_scores`.

The answer is the classifier directory's one decision rule applied to the backend's outputs
(:func:`~pytest_drlreward.checks.decisions.decide`); objects without a rule are judged by argmax over
their ``goal_index``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_drlreward.checks.decisions import decide
from pytest_drlreward.checks.parity import DEFAULT_BATCH


def goal_scores(backend: Any, images: Any, batch_size: int | None = DEFAULT_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """``(goal bool (N,), goal probability float64 (N,))`` of ``backend`` on ``images`` by its decision rule."""
    if not isinstance(images, dict) and len(np.asarray(images)) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.float64)
    decided = decide(backend, images, batch_size)
    return decided.goal, decided.probability
