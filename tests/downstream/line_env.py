"""A downstream project's env: a point on a 2-D plane moves toward a goal. Pure numpy, no simulator.

Observation: float32 ``[x, y, goal_x, goal_y]`` in [-1, 1]. Action: float32 ``[dx, dy]`` in [-1, 1],
scaled to a move of at most ``STEP_SIZE`` per axis (the point stays on the plane). Reward +10 when the
point is within ``GOAL_RADIUS`` of the goal (the episode then terminates), -1 otherwise; episodes are
truncated after ``max_steps`` steps (10). Nothing here is learned, so ``info["is_goal"]`` (what the
reward decided) always equals ``info["true_goal"]`` (the ground truth).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

STEP_SIZE = 0.25
GOAL_RADIUS = 0.15
GOAL_REWARD = 10.0
STEP_REWARD = -1.0


class LineEnv(gym.Env):
    """Move a point on [-1, 1]^2 to a goal drawn at reset."""

    metadata = {"render_modes": []}

    def __init__(self, max_steps: int = 10) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.max_steps = int(max_steps)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._point = np.zeros(2, dtype=np.float64)
        self._goal = np.zeros(2, dtype=np.float64)
        self._steps = 0

    def _obs(self) -> np.ndarray:
        return np.concatenate([self._point, self._goal]).astype(np.float32)

    def _at_goal(self) -> bool:
        return bool(np.linalg.norm(self._point - self._goal) < GOAL_RADIUS)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._point = self.np_random.uniform(-1.0, 1.0, size=2)
        self._goal = self.np_random.uniform(-0.8, 0.8, size=2)
        while self._at_goal():  # never start on the goal
            self._point = self.np_random.uniform(-1.0, 1.0, size=2)
        self._steps = 0
        return self._obs(), {}

    def step(self, action):
        move = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -1.0, 1.0) * STEP_SIZE
        self._point = np.clip(self._point + move, -1.0, 1.0)
        self._steps += 1
        goal = self._at_goal()
        reward = GOAL_REWARD if goal else STEP_REWARD
        info = {"is_goal": goal, "true_goal": goal}
        return self._obs(), reward, goal, self._steps >= self.max_steps and not goal, info


def make_env(**kwargs: Any) -> LineEnv:
    """The factory that ``drl_env = line_env:make_env`` names; kwargs go to :class:`LineEnv`."""
    return LineEnv(**kwargs)
