"""One place where the checks ask a backend "goal or not, and how likely": the false-goal search, the
goal-seeking rollouts, fidelity and the threshold sweep all call :func:`goal_scores`.

A backend with the decision-rule API (``predict_goal(inputs)`` and ``goal_probability(inputs)``) is
asked through it; any other backend through its logits (goal where the argmax is ``goal_index``, the
probability the softmax of that column), as :func:`~pytest_drlreward.checks.decisions.decide` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_drlreward.checks.decisions import decide
from pytest_drlreward.checks.parity import DEFAULT_BATCH


def goal_scores(backend: Any, images: np.ndarray, batch_size: int | None = DEFAULT_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """``(goal bool (N,), goal probability float64 (N,))`` of ``backend`` on uint8 ``images`` (N, H, W, 3)."""
    images = np.asarray(images)
    if len(images) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.float64)
    predict, probability = getattr(backend, "predict_goal", None), getattr(backend, "goal_probability", None)
    if callable(predict) and callable(probability):
        step = batch_size or len(images)
        goal = np.concatenate([np.asarray(predict(images[i:i + step]), dtype=bool) for i in range(0, len(images), step)])
        prob = np.concatenate([np.asarray(probability(images[i:i + step]), dtype=np.float64)
                               for i in range(0, len(images), step)])
        return goal, prob
    decided = decide(backend, images, batch_size)
    return decided.goal, decided.probability
