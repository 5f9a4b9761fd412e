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
    """A small two-camera, single-logit classifier (the docs' ``TwoCameraClassifier``), initialised from ``seed``."""
    _torch().manual_seed(seed)
    return TwoCameraClassifier()


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


# -- the docs' two-camera example (docs/reward-models.md section 2) with hand-set weights, and its env --------
# The truth of ``TwoCameraPointEnv`` is x + y > GOAL_SUM; its front camera shows x, its wrist camera y.
GOAL_SUM = 1.6
CAMERA_SHAPE = (3, 32, 32)
CAMERA_KEYS = {"front": "observation.images.front", "wrist": "observation.images.wrist"}


def TwoCameraClassifier(frames: int = 0) -> Any:  # noqa: N802
    """The docs' ``TwoCameraClassifier`` (a conv per camera, ONE logit); ``frames`` > 0: each input is a
    stack of that many frames (N, T, 3, H, W) and the model judges the latest."""
    torch = _torch()
    from torch import nn

    class _TwoCamera(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.front = nn.Conv2d(3, 4, 8, stride=8)
            self.wrist = nn.Conv2d(3, 4, 8, stride=8)
            self.head = nn.Linear(8, 1)

        def forward(self, front, wrist):
            if frames:
                front, wrist = front[:, -1], wrist[:, -1]
            a = torch.relu(self.front(front)).mean((2, 3))
            b = torch.relu(self.wrist(wrist)).mean((2, 3))
            return self.head(torch.cat([a, b], 1))[:, 0]

    return _TwoCamera().eval()


def two_camera_model(boundary: float, frames: int = 0, gain: float = 400.0, threshold: float = 0.7) -> Any:
    """``TwoCameraClassifier`` set by hand: ``sigmoid(logit) > threshold`` exactly when the front camera's mean
    red plus the wrist camera's exceeds ``boundary`` (GOAL_SUM + a hair: right; below GOAL_SUM: wrong near the goal)."""
    torch = _torch()
    model = TwoCameraClassifier(frames)
    with torch.no_grad():
        for conv in (model.front, model.wrist):
            conv.weight.zero_(), conv.bias.zero_()
            conv.weight[0, 0] = 1.0 / 64  # the mean red of each 8x8 patch
        model.head.weight.zero_()
        model.head.weight[0, 0] = model.head.weight[0, 4] = gain
        model.head.bias.fill_(-gain * boundary + float(np.log(threshold / (1 - threshold))))
    return model


def two_camera_score_model(bump: float = 0.0) -> Any:
    """``TwoCameraClassifier`` as a dense reward: score = x + y (the env's ``progress``), plus ``bump`` times
    relu(0.05 - y) (wrong: a high score along the bottom edge, where the progress is low)."""
    torch = _torch()
    model = TwoCameraClassifier()
    with torch.no_grad():
        for conv in (model.front, model.wrist):
            conv.weight.zero_(), conv.bias.zero_()
            conv.weight[0, 0] = 1.0 / 64
        model.wrist.weight[1, 0], model.wrist.bias[1] = -1.0 / 64, 0.05  # relu(0.05 - y)
        model.head.weight.zero_(), model.head.bias.zero_()
        model.head.weight[0, 0] = model.head.weight[0, 4] = 1.0
        model.head.weight[0, 5] = bump
    return model


def export_two_camera(out_dir: Any, boundary: float, frames: int = 0, model: Any = None, **description: Any) -> Any:
    """Write the two-camera classifier for ``boundary`` (with ``frames``: the frame-stack variant); ``model`` and
    ``description`` (``export_classifier``'s keywords, default ``threshold=0.7``) replace the defaults."""
    from pytest_drlreward import export_classifier

    env = TwoCameraPointEnv(frames=frames)
    obs, _ = env.reset(seed=0)
    example = {name: obs[key][None] for name, key in CAMERA_KEYS.items()}
    description = description or {"threshold": 0.7}
    return export_classifier(model if model is not None else two_camera_model(boundary, frames), example, out_dir,
                             env_keys=CAMERA_KEYS, torch_factory="reward_models:TwoCameraClassifier",
                             torch_factory_kwargs={"frames": frames}, input_ranges={"front": [0, 1], "wrist": [0, 1]},
                             **description)


class TwoCameraPointEnv(gym.Env):
    """A point in the unit square, goal x + y > GOAL_SUM; a Dict observation with the state and two float32
    CHW cameras (LeRobot's keys): the front camera's red is x, the wrist camera's red is y (green a
    checkerboard). ``frames`` > 0: each camera is a stack of the last ``frames`` views (oldest first)."""

    metadata = {"render_modes": []}

    def __init__(self, frames: int = 0, max_steps: int = 20) -> None:
        self.frames, self.max_steps = int(frames), int(max_steps)
        camera = (self.frames, *CAMERA_SHAPE) if self.frames else CAMERA_SHAPE
        self.observation_space = spaces.Dict({"observation.state": spaces.Box(0.0, 1.0, (2,), np.float32),
                                              **{key: spaces.Box(0.0, 1.0, camera, np.float32) for key in CAMERA_KEYS.values()}})
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._point, self._steps, self._history = np.zeros(2), 0, []

    def _view(self, value: float) -> np.ndarray:
        view = np.zeros(CAMERA_SHAPE, np.float32)
        view[0] = value
        view[1] = 0.5 * ((np.arange(CAMERA_SHAPE[1])[:, None] + np.arange(CAMERA_SHAPE[2])) % 2)
        return view

    def _obs(self) -> dict[str, np.ndarray]:
        views = (self._view(self._point[0]), self._view(self._point[1]))
        self._history = (self._history + [views])[-max(1, self.frames):]
        padded = [self._history[0]] * (max(1, self.frames) - len(self._history)) + self._history
        obs = {"observation.state": self._point.astype(np.float32)}
        for k, key in enumerate(CAMERA_KEYS.values()):
            obs[key] = np.stack([v[k] for v in padded]) if self.frames else padded[-1][k]
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._point, self._steps, self._history = self.np_random.uniform(0.0, 0.6, 2), 0, []
        return self._obs(), {}

    def step(self, action):
        self._point = np.clip(self._point + 0.1 * np.clip(np.asarray(action, np.float64), -1, 1), 0.0, 1.0)
        self._steps += 1
        goal = bool(self._point.sum() > GOAL_SUM)
        info = {"true_goal": goal, "goal_distance": max(0.0, GOAL_SUM - float(self._point.sum())),
                "progress": float(self._point.sum())}
        return self._obs(), 10.0 if goal else -1.0, goal, self._steps >= self.max_steps, info


def make_two_camera_env(**kwargs: Any) -> TwoCameraPointEnv:
    """The two-camera env (Dict observation); takes no render_mode."""
    return TwoCameraPointEnv(**kwargs)


def make_stacked_two_camera_env(**kwargs: Any) -> TwoCameraPointEnv:
    """The frame-stack variant: each camera a stack of 2 frames."""
    return TwoCameraPointEnv(frames=2, **kwargs)
