"""Fakes shared by the tests: tiny reward backends and a tiny env, each small enough to reason about;
``line_env``, the downstream project's env module, and ``ColourRule``, its classifier's rule in numpy."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class MeanPixelBackend:
    """Logits = per-channel mean pixel (scaled to [0, 1]) times a fixed (3, K) matrix."""

    def __init__(self, name: str, weights: np.ndarray) -> None:
        self.name = name
        self.weights = weights

    def logits(self, images: np.ndarray) -> np.ndarray:
        means = images.astype(np.float32).mean(axis=(1, 2)) / 255.0
        return (means @ self.weights).astype(np.float32)


class FixedLogitsBackend:
    def __init__(self, name: str, out: np.ndarray) -> None:
        self.name, self.out = name, out

    def logits(self, images: np.ndarray) -> np.ndarray:
        return self.out


class CountingBackend:
    """Forwards to a real backend and records the batch size of every call."""

    def __init__(self, backend) -> None:
        self.backend, self.name, self.goal_index, self.batches = backend, backend.name, backend.goal_index, []

    def logits(self, images):
        self.batches.append(len(images))
        return self.backend.logits(images)


class LineEnv(gym.Env):
    """A point on [0, 10] moved left/stay/right; reaching 10 ends the episode, 6 steps truncate it."""

    observation_space = spaces.Box(0.0, 10.0, shape=(1,), dtype=np.float32)
    action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = float(self.np_random.integers(0, 5))
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        return np.array([self.pos], dtype=np.float32)

    def step(self, action):
        self.t += 1
        self.pos = float(np.clip(self.pos + 3 * (int(action) - 1), 0, 10))
        terminated = self.pos >= 10
        reward = 10.0 if terminated else -1.0
        return self._obs(), reward, terminated, self.t >= 6, {"pos": self.pos}


def _load_line_env():
    """``tests/downstream/line_env.py`` under a private module name (the downstream project is not a package)."""
    spec = importlib.util.spec_from_file_location("downstream_line_env", Path(__file__).resolve().parent / "downstream" / "line_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


line_env = _load_line_env()


class ColourRule:
    """The downstream classifier's rule in numpy: goal logit = 8 * mean(red - blue) / 255 - 0.17 + ``shift``
    (its boundary is where the exported TinyCNN's is, about 5 colour levels into the red)."""

    goal_index = 1

    def __init__(self, shift: float = 0.0, name: str = "colour rule") -> None:
        self.shift, self.name = shift, name

    def logits(self, images: np.ndarray) -> np.ndarray:
        gap = images[..., 0].astype(np.float64).mean(axis=(1, 2)) - images[..., 2].astype(np.float64).mean(axis=(1, 2))
        return np.stack([np.zeros(len(images)), 8.0 * gap / 255.0 - 0.17 + self.shift], axis=1)
