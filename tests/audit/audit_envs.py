"""Envs for the audit's tests: a scripted env whose learned decision and truth follow a script, and the
downstream point env with a learned reward (its classifier decides the goal, the truth is kept in info)."""

from __future__ import annotations

import sys
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from repo_paths import DOWNSTREAM

from pytest_drlreward.checks.goalscore import goal_scores

if str(DOWNSTREAM) not in sys.path:
    sys.path.insert(0, str(DOWNSTREAM))
import point_env  # noqa: E402


class ScriptedEnv(gym.Env):
    """Step ``k`` (counted over the env's life, from 0) reports ``is_goal = script[k][0]`` and ``true_goal =
    script[k][1]``; an episode ends when the learned reward says goal or after ``length`` steps. Its camera
    image is 4x4 RGB filled with ``k % 256`` (so a kept frame names its step)."""

    metadata = {"render_modes": []}

    def __init__(self, script: list[tuple[Any, Any]], length: int = 5, probability: bool = True) -> None:
        self.script, self.length, self.probability = list(script), length, probability
        self.observation_space = spaces.Box(0.0, 1e6, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.k, self.t = 0, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.k], dtype=np.float32), {}

    def step(self, action):
        learned, true = self.script[self.k % len(self.script)]
        self.k += 1
        self.t += 1
        info = {"is_goal": learned, "true_goal": true}
        if self.probability:
            info["goal_probability"] = 0.9 if learned else 0.1
        terminated = bool(learned) if isinstance(learned, (bool, np.bool_)) else False
        return np.array([self.k - 1], dtype=np.float32), 1.0, terminated, self.t >= self.length, info

    def camera_image(self) -> np.ndarray:
        return np.full((4, 4, 3), (self.k - 1) % 256, dtype=np.uint8)


class LearnedPointEnv(point_env.PointEnv):
    """The point env rewarded by a classifier (a backend on its camera image): +10 and the end of the episode
    when the classifier says goal, -1 otherwise; ``info`` keeps the truth (``true_goal``) beside the learned
    decision (``is_goal``) and its ``goal_probability``."""

    def __init__(self, backend: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backend = backend

    def step(self, action):
        obs, _, _, truncated, info = super().step(action)
        goal, probability = goal_scores(self.backend, self.camera_image()[None])
        learned = bool(goal[0])
        info = {**info, "is_goal": learned, "goal_probability": float(probability[0])}
        return obs, 10.0 if learned else -1.0, learned, truncated, info


def point_classifier(directory: Any, threshold: float) -> Any:
    """The point env's hand-set classifier for ``threshold`` (0.8: right; 0.7: wrong in a band next to the goal),
    exported to ``directory`` and loaded on ONNX Runtime (one thread)."""
    import point_model

    from pytest_drlreward import load_backend

    point_model.export(directory, threshold)
    return load_backend("onnxruntime", directory, threads=1)
