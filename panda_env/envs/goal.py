"""Goal judges: what decides, each step, whether the gripper hovers over the object.

Judges are batch-first: ``judge_batch(images, true_goals)`` decides N states at once (a batched VecEnv
passes all its envs' images), ``judge(image, true_goal)`` is a batch of one (a single env's step).
Swapping the judge swaps the reward's source without touching the env's logic. ``OracleJudge`` reads
the simulator; ``ClassifierJudge`` runs a reward backend and applies its directory's decision rule,
keeping a record of the time it spends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from panda_env.envs import task
from pytest_drlreward.classifier.decision import loose_argmax, rule_of


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
    """Decides goal or not for a batch of states (a single env is a batch of one)."""

    name: str
    needs_image: bool

    def judge_batch(self, images: np.ndarray | None, true_goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(is_goal bool (N,), goal_probability float (N,)) for N images (None when ``needs_image`` is False)."""

    def judge(self, image: np.ndarray | None, true_goal: bool) -> tuple[bool, float]:
        """(is_goal, goal_probability) for one state."""


class _OneOfBatch:
    """``judge`` as a batch of one, for judges that define ``judge_batch``."""

    def judge(self, image: np.ndarray | None, true_goal: bool) -> tuple[bool, float]:
        goals, probabilities = self.judge_batch(None if image is None else image[None], np.array([bool(true_goal)]))
        return bool(goals[0]), float(probabilities[0])

    def warm_up(self, batch_size: int) -> None:
        """Do now the one-time work of judging batches of ``batch_size`` (none for most judges)."""


class OracleJudge(_OneOfBatch):
    """Ground truth from the simulator; no network, no image."""

    name = task.ORACLE
    needs_image = False

    def judge_batch(self, images: np.ndarray | None, true_goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        truth = np.asarray(true_goals, dtype=bool)
        return truth, truth.astype(np.float64)


def load_reward_backend(reward_backend: Any, model_dir: Any = None, backend_options: dict | None = None) -> Any:
    """The backend deciding the reward: ``None`` for ``"oracle"``, a loaded backend for a classifier
    backend name, or a given object with ``.name``, ``.logits(images)`` and a ``.decision`` rule (or a
    ``.goal_index``: argmax) as it is."""
    if isinstance(reward_backend, str):
        if task.check_reward_backend(reward_backend) == task.ORACLE:
            return None
        from panda_env.reward import load_backend

        return load_backend(reward_backend, model_dir, **(backend_options or {}))
    if (not callable(getattr(reward_backend, "logits", None)) or not hasattr(reward_backend, "name")
            or not (hasattr(reward_backend, "goal_index") or hasattr(reward_backend, "decision"))):
        raise TypeError(f"reward_backend must be a backend name or an object with .name, .logits(images) and "
                        f".decision (or .goal_index), got {reward_backend!r}")
    return reward_backend


class ClassifierJudge(_OneOfBatch):
    """The learned reward: a backend's outputs on a batch of camera images, decided by its directory's
    one decision rule (``backend.decision``; argmax over ``goal_index`` for objects without one)."""

    needs_image = True

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.rule = rule_of(backend)
        self.timer = CallTimer()

    def warm_up(self, batch_size: int) -> None:
        """The backend's ``warm_up`` for batches of ``batch_size`` (OpenVINO compiles that static shape, about
        60 ms, which the first step would otherwise pay inside training), untimed; nothing for a backend
        object without one."""
        warm_up = getattr(self.backend, "warm_up", None)
        if callable(warm_up):
            warm_up(batch_size)

    def judge_batch(self, images: np.ndarray | None, true_goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = time.perf_counter()
        logits = np.asarray(self.backend.logits(images))
        self.timer.add(time.perf_counter() - start)
        if len(logits) != len(images):
            raise ValueError(f"backend {self.name!r} returned outputs of shape {logits.shape} for {len(images)} images")
        rule = loose_argmax(self.rule, logits.shape[1]) if logits.ndim == 2 else self.rule
        return rule.decide(logits)
