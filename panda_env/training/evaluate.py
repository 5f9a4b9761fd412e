"""Deterministic evaluation of a trained agent: true-goal success rate, episode length, optional GIF."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from panda_env.training.runs import make_env


@dataclass
class EvaluationResult:
    episodes: int
    success_rate: float
    mean_length: float


def load_agent(path: str | Path):
    """Load an SB3 SAC agent, with errors that say what is wrong with the file."""
    from stable_baselines3 import SAC

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"agent file {path} does not exist (train one with `python -m panda_env train --out DIR`)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a stable-baselines3 agent (not a zip archive saved by SAC.save)")
    try:
        return SAC.load(path, device="cpu")
    except Exception as error:  # SB3 raises many types for a foreign archive
        raise ValueError(f"{path} is not a stable-baselines3 SAC agent: {error}") from error


def evaluate_policy_success(agent, episodes: int = 50, seed: int = 10_000, profile: str = "fast",
                            gif_path: str | Path | None = None) -> EvaluationResult:
    """Run ``episodes`` deterministic episodes; success means the simulator's true goal was reached.

    The env uses the oracle reward so episodes end exactly when the gripper truly hovers over the
    object; the learned reward is judged separately (reward fidelity).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be positive, got {episodes}")
    env = make_env("oracle", profile)
    successes, lengths, frames = 0, [], []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            record = gif_path is not None and episode == 0
            if record:
                frames.append(env.camera_image())
            for step in range(1, 1000):  # noqa: B007  (the episode length, read after the loop)
                action, _ = agent.predict(obs, deterministic=True)
                obs, _, terminated, truncated, info = env.step(action)
                if record:
                    frames.append(env.camera_image())
                if terminated or truncated:
                    break
            successes += bool(info["true_goal"])
            lengths.append(step)
    finally:
        env.close()
    if gif_path is not None:
        write_gif(frames, gif_path)
    return EvaluationResult(episodes, successes / episodes, float(np.mean(lengths)))


def write_gif(frames: list[np.ndarray], path: str | Path, scale: int = 4, fps: int = 4) -> Path:
    """Write frames as an animated GIF (nearest-neighbour upscaled), atomically."""
    from PIL import Image

    from pytest_drlreward.atomic import atomic_file

    path = Path(path)
    images = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.NEAREST) for f in frames]
    with atomic_file(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
