"""Goal judges: what decides, each step, whether the gripper hovers over the object.

The env asks its judge once per step; swapping the judge swaps the reward's source without touching
the env's logic. ``OracleJudge`` reads the simulator; ``ClassifierJudge`` runs a reward backend on
the camera image and keeps a record of the time it spends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from panda_env.envs import task
from pytest_drlreward.backends.base import goal_probabilities


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

    name = task.ORACLE
    needs_image = False

    def judge(self, image: np.ndarray | None, true_goal: bool) -> tuple[bool, float]:
        return true_goal, float(true_goal)


def goal_decisions(logits: np.ndarray, goal_index: int) -> list[tuple[bool, float]]:
    """(is_goal, goal_probability) per row of logits (N, K): goal when the ``goal_index`` column is the argmax."""
    logits = np.asarray(logits)
    goals = np.argmax(logits, axis=1) == goal_index
    return list(zip(goals.tolist(), goal_probabilities(logits, goal_index).tolist()))


def load_reward_backend(reward_backend: Any, model_dir: Any = None, backend_options: dict | None = None) -> Any:
    """The backend deciding the reward: ``None`` for ``"oracle"``, a loaded backend for a classifier
    backend name, or a given object with ``.name``, ``.goal_index`` and ``.logits(images)`` as it is."""
    if isinstance(reward_backend, str):
        if task.check_reward_backend(reward_backend) == task.ORACLE:
            return None
        from panda_env.reward import load_backend

        return load_backend(reward_backend, model_dir, **(backend_options or {}))
    if not callable(getattr(reward_backend, "logits", None)) or not hasattr(reward_backend, "name") \
            or not hasattr(reward_backend, "goal_index"):
        raise TypeError(f"reward_backend must be a backend name or an object with .name, .goal_index and "
                        f".logits(images), got {reward_backend!r}")
    return reward_backend


class ClassifierJudge:
    """The learned reward: a backend's logits on the camera image; its ``goal_index`` column means goal."""

    needs_image = True

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.timer = CallTimer()

    def judge(self, image: np.ndarray | None, true_goal: bool) -> tuple[bool, float]:
        start = time.perf_counter()
        logits = self.backend.logits(image[None])
        self.timer.add(time.perf_counter() - start)
        return goal_decisions(logits, self.backend.goal_index)[0]
