"""The project's env with its learned reward deployed, as a real project runs it: each step the env itself runs
its classifier on its camera image and reports ``is_goal`` and ``goal_probability`` (and its truth, ``true_goal``).

``fault`` breaks the deployed path as real envs do: ``"bgr"`` judges the image with its colour channels reversed
(an OpenCV frame fed to an RGB model), ``"stale"`` judges the frame rendered before the move. The contract suite's
deployed-path test passes on ``make_env`` and fails on ``make_bgr_env`` and ``make_stale_env``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from line_env import GOAL_REWARD, STEP_REWARD, LineEnv

from pytest_drlreward.checks import decide

MODEL = Path(__file__).resolve().parent / "models" / "tiny"
FAULTS = (None, "bgr", "stale")


class DeployedLineEnv(LineEnv):
    """``LineEnv`` whose reward is ``backend``'s decision (the directory's rule) on the env's own camera image."""

    def __init__(self, backend: Any, fault: str | None = None, **kwargs: Any) -> None:
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        super().__init__(**kwargs)
        self.backend, self.fault = backend, fault

    def step(self, action):
        before = self.camera_image()
        obs, _, _, _, info = super().step(action)
        frame = before if self.fault == "stale" else self.camera_image()
        if self.fault == "bgr":
            frame = frame[..., ::-1]
        decided = decide(self.backend, frame[None])
        goal = bool(decided.goal[0])
        info.update(is_goal=goal, goal_probability=float(decided.probability[0]))
        return obs, GOAL_REWARD if goal else STEP_REWARD, goal, self._steps >= self.max_steps and not goal, info


@lru_cache(maxsize=1)
def _classifier() -> Any:
    from pytest_drlreward import load_backend

    return load_backend("onnxruntime", MODEL, threads=1)


def make_env(**kwargs: Any) -> DeployedLineEnv:
    return DeployedLineEnv(_classifier(), **kwargs)


def make_bgr_env(**kwargs: Any) -> DeployedLineEnv:
    return DeployedLineEnv(_classifier(), fault="bgr", **kwargs)


def make_stale_env(**kwargs: Any) -> DeployedLineEnv:
    return DeployedLineEnv(_classifier(), fault="stale", **kwargs)
