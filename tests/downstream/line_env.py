"""A downstream project's env: a point on a 2-D plane moves toward a goal. Pure numpy, no simulator.

Observation: float32 ``[x, y, goal_x, goal_y]`` in [-1, 1]; episodes start ``START_DISTANCE`` from the
goal. Action: float32 ``[dx, dy]`` in [-1, 1], scaled to a move of at most ``STEP_SIZE`` per axis (the
point stays on the plane). Reward +10 when the
point is within ``GOAL_RADIUS`` of the goal (the episode then terminates), -1 otherwise; episodes are
truncated after ``max_steps`` steps (10). Nothing here is learned, so ``info["is_goal"]`` (what the
reward decided) always equals ``info["true_goal"]`` (the ground truth).

``camera_image()`` (and ``render()`` with ``render_mode="rgb_array"``) draws the 16x16 RGB image a
classifier would judge: its background is redder than blue inside the goal radius and bluer outside,
the more so the farther from the boundary (a jump of ``BOUNDARY_JUMP`` colour levels at the boundary),
over a green checkerboard, with the point drawn in green. The project's tiny classifier ("goal when
mean red > mean blue", ``make_model.py``) is then right except in a thin band just inside the boundary.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

STEP_SIZE = 0.25
GOAL_RADIUS = 0.25
START_DISTANCE = (0.3, 0.8)  # episodes start this far from the goal (in a random direction)
GOAL_REWARD = 10.0
STEP_REWARD = -1.0
IMAGE_SIZE = 16
BOUNDARY_JUMP = 4  # red - blue, in colour levels, just inside (+) and outside (-) the goal radius
FULL_CONTRAST = 100  # red - blue a goal radius or more away from the boundary


class LineEnv(gym.Env):
    """Move a point on [-1, 1]^2 to a goal drawn at reset."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, max_steps: int = 10, render_mode: str | None = None) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._point = np.zeros(2, dtype=np.float64)
        self._goal = np.zeros(2, dtype=np.float64)
        self._steps = 0

    def _obs(self) -> np.ndarray:
        return np.concatenate([self._point, self._goal]).astype(np.float32)

    def _distance(self) -> float:
        return float(np.linalg.norm(self._point - self._goal))

    def _at_goal(self) -> bool:
        return self._distance() < GOAL_RADIUS

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._goal = self.np_random.uniform(-0.8, 0.8, size=2)
        self._point = self._goal.copy()
        while self._at_goal():  # never start on the goal
            angle, distance = self.np_random.uniform(0, 2 * np.pi), self.np_random.uniform(*START_DISTANCE)
            self._point = np.clip(self._goal + distance * np.array([np.cos(angle), np.sin(angle)]), -1.0, 1.0)
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

    def camera_image(self) -> np.ndarray:
        """The uint8 RGB (16, 16, 3) image of the current state (see the module docstring)."""
        inside = (GOAL_RADIUS - self._distance()) / GOAL_RADIUS  # > 0 inside the goal, 1 at its centre
        contrast = np.sign(inside) * (BOUNDARY_JUMP + (FULL_CONTRAST - BOUNDARY_JUMP) * min(abs(inside), 1.0))
        image = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        image[..., 0] = int(round(128 + contrast / 2))
        image[..., 2] = int(round(128 - contrast / 2))
        image[..., 1] = 96 + 64 * ((np.arange(IMAGE_SIZE)[:, None] + np.arange(IMAGE_SIZE)[None, :]) % 2)
        row, col = ((1.0 - self._point[1]) / 2 * (IMAGE_SIZE - 1), (self._point[0] + 1.0) / 2 * (IMAGE_SIZE - 1))
        image[int(round(row)), int(round(col)), 1] = 255
        return image

    def render(self) -> np.ndarray | None:
        return self.camera_image() if self.render_mode == "rgb_array" else None


def make_env(**kwargs: Any) -> LineEnv:
    """The factory that ``drl_env = line_env:make_env`` names; kwargs go to :class:`LineEnv`."""
    return LineEnv(**kwargs)
