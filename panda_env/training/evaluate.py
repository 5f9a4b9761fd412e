"""Deterministic evaluation of a trained agent: true-goal success rate, episode length, optional GIF."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from panda_env.reward import load_backend
from panda_env.training.runs import make_env
from pytest_drlreward.util.validation import check_int


@dataclass
class EvaluationResult:
    episodes: int
    success_rate: float
    mean_length: float


def load_agent(path: str | Path, trust_code: bool = False):
    """Load an SB3 SAC agent without unpickling what can be rebuilt (``pytest_drlreward.env.sb3_agent``: an agent
    file from elsewhere is code), with errors that say what is wrong with the file."""
    from stable_baselines3 import SAC

    from pytest_drlreward.env.sb3_agent import AgentFileError, load_agent_safely

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"agent file {path} is a directory; give the agent inside it, e.g. {path / 'agent.zip'}")
    if not path.is_file():
        raise FileNotFoundError(f"agent file {path} does not exist (train one with `python -m panda_env train --out DIR`)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a stable-baselines3 agent (not a zip archive saved by SAC.save)")
    try:
        return load_agent_safely(path, SAC, trust_code=trust_code)
    except AgentFileError as error:
        raise ValueError(f"{path} is not a stable-baselines3 SAC agent: {error}") from None


def evaluate_policy_success(agent, episodes: int = 50, seed: int = 10_000, profile: str = "fast",
                            gif_path: str | Path | None = None, gif_episodes: int = 3,
                            gif_backend: str = "openvino", goal_radius: float | None = None) -> EvaluationResult:
    """Run ``episodes`` deterministic episodes; success means the simulator's true goal was reached.

    The env uses the oracle reward so episodes end exactly when the gripper truly hovers over the
    object; the learned reward is judged separately (reward fidelity). With ``gif_path`` the first
    ``gif_episodes`` episodes are drawn into a GIF (see ``episode_gif``), showing the goal probability
    that the ``gif_backend`` classifier gives each frame (``"oracle"``: the simulator's 0 or 1).
    ``goal_radius``: the truth's goal radius (None: the task's).
    """
    from panda_env.training.episode_gif import capture_frame, write_episode_gif

    check_int(episodes, "episodes")
    env = make_env("oracle", profile, goal_radius=goal_radius)
    classifier = None if gif_path is None or gif_backend == "oracle" else load_backend(gif_backend)
    successes, lengths, frames = 0, [], []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            record = gif_path is not None and episode < gif_episodes
            if record:
                frames.append(capture_frame(env, episode + 1, 0, None, None))
            for step in range(1, 1000):  # noqa: B007  (the episode length, read after the loop)
                action, _ = agent.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, info = env.step(action)
                if record:
                    frame = capture_frame(env, episode + 1, step, float(reward), info)
                    if classifier is not None:
                        frame.goal_probability = float(classifier.goal_probability(frame.classifier_view[None])[0])
                    frame.last = bool(terminated or truncated)
                    frames.append(frame)
                if terminated or truncated:
                    break
            successes += bool(info["true_goal"])
            lengths.append(step)
        if gif_path is not None:
            write_episode_gif(frames, env, gif_path)
    finally:
        env.close()
    return EvaluationResult(episodes, successes / episodes, float(np.mean(lengths)))
