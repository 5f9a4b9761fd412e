"""A foreign project's env: a point in the unit square; the goal is the corner x > 0.8 and y > 0.8. Pure numpy.

Observation: float32 ``[x, y]`` in [0, 1]. Action: float32 ``[dx, dy]`` in [-1, 1], a move of at most
``STEP_SIZE`` per axis (the point stays in the square). Episodes start in [0, 0.6]^2, end at the goal
(+10) and are truncated after ``max_steps`` (20). ``info``: ``true_goal`` (the truth), ``is_goal``
(equal to it: nothing here is learned) and ``goal_distance`` (distance to the goal corner, a dense
truth signal).

``camera_image()`` is a 32x32 RGB image: red encodes x and green y (``40 + 160 v`` colour levels,
plus a jump of ``BOUNDARY_JUMP`` levels past 0.8, so a classifier can tell the goal exactly), blue a
checkerboard with the point drawn at 255. ``PlacedPointEnv`` adds the search's optional hook
(``drl_state_space``, ``drl_place``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

GOAL = 0.8
STEP_SIZE = 0.1
START_HIGH = 0.6
IMAGE_SIZE = 32
BOUNDARY_JUMP = 12


def level(value: float) -> int:
    """The colour level encoding one coordinate."""
    return int(round(40 + 160 * value + (BOUNDARY_JUMP if value > GOAL else 0)))


class PointEnv(gym.Env):
    """Move a point in the unit square into its top-right corner."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, max_steps: int = 20, render_mode: str | None = None) -> None:
        self.max_steps, self.render_mode = int(max_steps), render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._point = np.zeros(2)
        self._steps = 0

    def _info(self) -> dict:
        goal = bool(np.all(self._point > GOAL))
        distance = float(np.hypot(*np.maximum(0.0, GOAL - self._point)))
        return {"true_goal": goal, "is_goal": goal, "goal_distance": distance}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._point = self.np_random.uniform(0.0, START_HIGH, size=2)
        self._steps = 0
        return self._point.astype(np.float32), {}

    def step(self, action):
        move = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -1.0, 1.0) * STEP_SIZE
        self._point = np.clip(self._point + move, 0.0, 1.0)
        self._steps += 1
        info = self._info()
        reward = 10.0 if info["true_goal"] else -1.0
        return self._point.astype(np.float32), reward, info["true_goal"], self._steps >= self.max_steps, info

    def camera_image(self) -> np.ndarray:
        image = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        image[..., 0], image[..., 1] = level(self._point[0]), level(self._point[1])
        image[..., 2] = 64 * ((np.arange(IMAGE_SIZE)[:, None] + np.arange(IMAGE_SIZE)[None, :]) % 2)
        row, col = (int(round((1 - v) * (IMAGE_SIZE - 1))) for v in self._point[::-1])
        image[row, col, 2] = 255
        return image

    def render(self) -> np.ndarray | None:
        return self.camera_image() if self.render_mode == "rgb_array" else None


class PlacedPointEnv(PointEnv):
    """``PointEnv`` with the search's optional hook: the search places the point directly."""

    drl_state_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float64)

    def drl_place(self, state) -> dict:
        self._point = np.clip(np.asarray(state, dtype=np.float64), 0.0, 1.0)
        return self._info()


def make_env(**kwargs: Any) -> PointEnv:
    return PointEnv(**kwargs)


def make_placed_env(**kwargs: Any) -> PlacedPointEnv:
    return PlacedPointEnv(**kwargs)
