"""What a training run shows while it runs: a few table rows, and the learning curve it records.

``EpisodeLog`` is a stable-baselines3 callback. It records every finished episode (the step it ended
at, its return, whether the simulator's true goal was reached) and logs a table row every
``every`` steps: episodes so far, mean return and true-goal success over the last ``window``
episodes. ``curve(bins)`` summarises the episodes as learning-curve points for the report and plot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

logger = logging.getLogger(__name__)
HEADER = f"{'step':>8} {'episodes':>9} {'mean return':>12} {'true-goal success':>18}"


@dataclass(frozen=True)
class Episode:
    step: int  # the training step at which it ended
    ret: float
    true_goal: bool


class EpisodeLog(BaseCallback):
    """Records finished episodes; logs a row every ``every`` steps (``0``: no rows) over the last ``window`` episodes."""

    def __init__(self, every: int, window: int = 50) -> None:
        super().__init__(verbose=0)
        if every < 0 or window < 1:
            raise ValueError(f"every must be >= 0 and window positive, got {every} and {window}")
        self.every, self.window = every, window
        self.episodes: list[Episode] = []
        self._returns: np.ndarray | None = None
        self._next_row = every

    def _on_training_start(self) -> None:
        self._returns = np.zeros(self.training_env.num_envs)
        if self.every:
            logger.info(HEADER)

    def _on_step(self) -> bool:
        rewards, dones, infos = self.locals["rewards"], self.locals["dones"], self.locals["infos"]
        self._returns += rewards
        for i in np.flatnonzero(dones):
            self.episodes.append(Episode(self.num_timesteps, float(self._returns[i]), bool(infos[i].get("true_goal"))))
            self._returns[i] = 0.0
        if self.every and self.num_timesteps >= self._next_row:
            self._next_row += self.every
            logger.info(self.row())
        return True

    def row(self) -> str:
        """The table row of the episodes so far."""
        recent = self.episodes[-self.window:]
        if not recent:
            return f"{self.num_timesteps:>8} {0:>9} {'-':>12} {'-':>18}"
        mean_return = float(np.mean([e.ret for e in recent]))
        success = float(np.mean([e.true_goal for e in recent]))
        return f"{self.num_timesteps:>8} {len(self.episodes):>9} {mean_return:>12.1f} {success:>17.0%}"

    def curve(self, bins: int = 20) -> list[dict]:
        """Learning-curve points: per slice of training steps, the episodes that ended in it."""
        if not self.episodes:
            return []
        total = max(self.num_timesteps, 1)
        edges = np.linspace(0, total, bins + 1)
        points = []
        for low, high in zip(edges[:-1], edges[1:]):
            inside = [e for e in self.episodes if low < e.step <= high]
            if inside:
                points.append({"step": int(high), "episodes": len(inside),
                               "mean_return": float(np.mean([e.ret for e in inside])),
                               "success_rate": float(np.mean([e.true_goal for e in inside]))})
        return points
