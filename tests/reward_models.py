"""Reward models of every shape for the format-2 tests and the docs' examples (torch imported on use).

- ``TwoView``: LeRobot-style: two float32 CHW camera views (``front``, ``wrist``) in, ONE logit (N,) out.
- ``MeanViews``: the same inputs, a linear logit of each view's channel means; ``mean_views_numpy`` is
  its numpy twin (how a JAX/TF team's own framework stands in as the reference).
- ``ColourScore``: a dense reward: uint8 RGB (N, H, W, 3) in, score = mean red - mean blue in [-1, 1] (N,).
- ``TwoViewEnv``: a numpy env supplying both views through ``camera_images()``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

VIEW_SHAPE = (3, 64, 64)
MEAN_WEIGHTS = np.array([[2.0, -1.0, 0.5], [-0.5, 1.5, -2.0]], dtype=np.float32)  # front, wrist channel weights
MEAN_BIAS = 0.25


def _torch():
    import torch

    return torch


def TwoView(seed: int = 0) -> Any:  # noqa: N802 - a factory named like the class it builds
    """A small two-camera, single-logit classifier, initialised from ``seed``."""
    torch = _torch()
    from torch import nn

    class _TwoView(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.front = nn.Conv2d(3, 4, 8, stride=8)
            self.wrist = nn.Conv2d(3, 4, 8, stride=8)
            self.head = nn.Linear(8, 1)

        def forward(self, front, wrist):
            a = torch.relu(self.front(front)).mean((2, 3))
            b = torch.relu(self.wrist(wrist)).mean((2, 3))
            return self.head(torch.cat([a, b], 1))[:, 0]

    torch.manual_seed(seed)
    return _TwoView().eval()


def MeanViews() -> Any:  # noqa: N802
    """logit = front channel means . w_front + wrist channel means . w_wrist + bias (one logit, (N,))."""
    torch = _torch()
    from torch import nn

    class _MeanViews(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("w", torch.from_numpy(MEAN_WEIGHTS.copy()))

        def forward(self, front, wrist):
            return (front.mean((2, 3)) * self.w[0]).sum(1) + (wrist.mean((2, 3)) * self.w[1]).sum(1) + MEAN_BIAS

    return _MeanViews().eval()


def mean_views_numpy(inputs: dict[str, np.ndarray]) -> np.ndarray:
    """``MeanViews`` in numpy: the reference a team brings from its own framework."""
    front, wrist = inputs["front"].mean(axis=(2, 3)), inputs["wrist"].mean(axis=(2, 3))
    return (front @ MEAN_WEIGHTS[0] + wrist @ MEAN_WEIGHTS[1] + MEAN_BIAS).astype(np.float32)


def ColourScore() -> Any:  # noqa: N802
    """A dense reward: (mean red - mean blue) / 255 of a uint8 RGB image, (N,)."""
    from torch import nn

    class _ColourScore(nn.Module):
        def forward(self, images):
            x = images.float() / 255.0
            return x[..., 0].mean((1, 2)) - x[..., 2].mean((1, 2))

    return _ColourScore().eval()


def view_batch(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` pairs of views whose brightness varies from pair to pair (so a logit varies a lot)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.0, 1.0, size=(n, 1, 1, 1)).astype(np.float32)
    return {name: (rng.random((n, *VIEW_SHAPE), dtype=np.float32) * scale) for name in ("front", "wrist")}


class TwoViewEnv(gym.Env):
    """A point moving on [-1, 1]^2; two 'cameras' whose brightness grows near the goal at the origin."""

    metadata = {"render_modes": []}

    def __init__(self, max_steps: int = 10) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.max_steps = max_steps
        self._xy = np.zeros(2, np.float32)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._xy = self.np_random.uniform(-1.0, 1.0, 2).astype(np.float32)
        self._steps = 0
        return self._xy.copy(), {}

    def step(self, action):
        self._xy = np.clip(self._xy + 0.3 * np.asarray(action, np.float32), -1.0, 1.0).astype(np.float32)
        self._steps += 1
        goal = bool(np.linalg.norm(self._xy) < 0.3)
        return self._xy.copy(), 1.0 if goal else -1.0, goal, self._steps >= self.max_steps, {"true_goal": goal}

    def camera_images(self) -> dict[str, np.ndarray]:
        brightness = float(1.0 - np.linalg.norm(self._xy) / np.sqrt(2.0))
        rng = np.random.default_rng(int(1000 * (self._xy[0] + 2)) * 7919 + int(1000 * (self._xy[1] + 2)))
        return {name: (rng.random(VIEW_SHAPE, dtype=np.float32) * brightness) for name in ("front", "wrist")}


def make_two_view_env(**kwargs: Any) -> TwoViewEnv:
    """The env factory the plugin builds (takes no render_mode: the plugin must not pass one)."""
    return TwoViewEnv(**kwargs)
