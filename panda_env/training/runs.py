"""The envs of a run: one place that turns (reward backend, profile, options) into an env or a VecEnv.

Training, evaluation, the benchmarks and the CLI all build their envs here.
"""

from __future__ import annotations

from typing import Any

from panda_env.envs.hover import PandaHoverEnv
from panda_env.envs.task import IMAGE_SIZE, ORACLE, check_reward_backend
from panda_env.training.profiles import check_profile, scene_config


def backend_options_for(backend: str, profile: str, int8: bool) -> dict:
    """Reward-backend options of a run: ``int8`` runs the classifier's shipped INT8 OpenVINO model."""
    if not int8:
        return {}
    if backend != "openvino" or profile != "fast":
        raise ValueError(f"the INT8 model runs on the openvino backend in the fast profile, got backend "
                         f"{backend!r} and profile {profile!r}")
    return {"int8_model": True}


def run_reward(backend: str, profile: str, model_dir=None) -> Any:
    """What decides a run's reward: the backend name, or in the seed profile the seed's own reward path."""
    if check_reward_backend(backend) == ORACLE or check_profile(profile) != "original":
        return backend
    from panda_env.reward.seed_replica import seed_backend

    return seed_backend(backend, model_dir)


def _radius(goal_radius: float | None) -> dict:
    return {} if goal_radius is None else {"goal_radius": goal_radius}


def make_env(backend: str, profile: str = "fast", image_size: int = IMAGE_SIZE, model_dir=None,
             max_episode_steps: int = 10, int8: bool = False, goal_radius: float | None = None) -> PandaHoverEnv:
    """A PandaHover env for a backend and a run profile; ``goal_radius``: the truth's (None: the task's)."""
    options = backend_options_for(backend, profile, int8)
    return PandaHoverEnv(reward_backend=run_reward(backend, profile, model_dir), image_size=image_size,
                         model_dir=model_dir, max_episode_steps=max_episode_steps,
                         scene_config=scene_config(profile, image_size), backend_options=options,
                         **_radius(goal_radius))


def make_batched_env(backend: str, n_envs: int, profile: str = "fast", image_size: int = IMAGE_SIZE,
                     model_dir=None, max_episode_steps: int = 10, int8: bool = False, goal_radius: float | None = None):
    """``n_envs`` PandaHover envs for a backend and a run profile, one reward-backend call per step."""
    from panda_env.envs.batched import BatchedRewardVecEnv

    options = backend_options_for(backend, profile, int8)
    return BatchedRewardVecEnv(n_envs, run_reward(backend, profile, model_dir), max_episode_steps=max_episode_steps,
                               model_dir=model_dir, backend_options=options, image_size=image_size,
                               scene_config=scene_config(profile, image_size), **_radius(goal_radius))
