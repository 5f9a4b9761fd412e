"""Goal judges: what decides, each step, whether the gripper hovers over the object.

The env asks its judge once per step; swapping the judge swaps the reward's source without touching
the env's logic. ``OracleJudge`` reads the simulator; ``ClassifierJudge`` runs a reward backend on
the camera image and keeps a record of the time it spends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class CallTimer:
    """Total seconds and number of calls of one timed activity."""

    total_s: float = 0.0
    calls: int = 0

    @property
    def mean_s(self) -> float:
        return self.total_s / self.calls if self.calls else 0.0

    def add(self, seconds: float, calls: int = 1) -> None:
        self.total_s += seconds
        self.calls += calls


class GoalJudge(Protocol):
    name: str
    needs_image: bool

    def judge(self, image: np.ndarray | None, true_goal: bool) -> tuple[bool, float]:
        """Return (is_goal, goal_probability)."""


class OracleJudge:
    """Ground truth from the simulator; no network, no image."""

    name = "oracle"
    needs_image = False

    def judge(self, image: np.ndarray | None, true_goal: bool) -> tuple[bool, float]:
        return true_goal, float(true_goal)


def goal_probability(logits: np.ndarray) -> np.ndarray:
    """Softmax probability of class 1 (goal) for logits of shape (N, 2)."""
    logits = np.asarray(logits, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))


def goal_decisions(logits: np.ndarray) -> list[tuple[bool, float]]:
    """(is_goal, goal_probability) per row of logits (N, 2): goal when class 1's logit is the larger."""
    probabilities = goal_probability(logits)
    return [(bool(row[1] > row[0]), float(p)) for row, p in zip(logits, probabilities)]


class ClassifierJudge:
    """The learned reward: a backend's logits on the camera image; class 1 means goal."""

    needs_image = True

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.timer = CallTimer()

    def judge(self, image: np.ndarray | None, true_goal: bool) -> tuple[bool, float]:
        start = time.perf_counter()
        logits = self.backend.logits(image[None])
        self.timer.add(time.perf_counter() - start)
        return goal_decisions(logits)[0]
