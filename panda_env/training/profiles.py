"""Run profiles: our fast settings, and the original demo's conditions reproduced for comparison (``original``;
``seed``, its first name, stays an alias)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from panda_env.sim import SceneConfig
from panda_env.sim.defaults import DEFAULT_IMAGE_SIZE

PROFILES = ("fast", "original")
PROFILE_ALIASES = {"seed": "original"}  # the first name of "original" (it read like a random seed)
PROFILE_CHOICES = (*PROFILES, *PROFILE_ALIASES)
SEED_RESOLUTION = (960, 720)
# The fast profile's SAC: tuned for the training time to a solved policy (Optuna on the oracle reward,
# confirmed with the OpenVINO reward on 3 other seeds; see docs/tuning.md and panda_env/bench/tune_search.py).
# Half a gradient step per env step (train_freq 4, gradient_steps 2), a high learning rate, a short
# horizon and a small replay buffer; the rest is SB3's defaults.
FAST_SAC = {"learning_rate": 0.007179627519054022, "gamma": 0.98, "learning_starts": 50, "train_freq": 4,
            "gradient_steps": 2, "tau": 0.05, "buffer_size": 2000}
FAST_NET_ARCH = (64, 64)
# The fast profile steps 2 envs together (envs.batched.BatchedRewardVecEnv: one reward call for both images,
# SB3's loop once per 2 transitions): about 1.2x less a transition than one env, the same steps to solve over
# seeds 0-7 (docs/results.md). SB3 counts train_freq and gradient_steps in steps of the VecEnv, so
# sac_options scales gradient_steps with the envs: half a gradient step per transition, as tuned.
FAST_N_ENVS = 2
# Who runs SAC's gradient steps: "fast" (panda_env.training.fast_sac.FastSAC: SB3's update with less overhead,
# the same learning) or "sb3" (SB3's own SAC.train). The original profile is the demo's: SB3's own.
LEARNERS = ("fast", "sb3")


def check_profile(profile: str) -> str:
    """The run profile ``profile`` names (an alias gives its profile), else raise ValueError naming the allowed values."""
    profile = PROFILE_ALIASES.get(profile, profile)
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed values: {', '.join(PROFILE_CHOICES)}")
    return profile


def sac_options(profile: str, n_envs: int = 1) -> dict:
    """Keyword arguments for SB3's ``SAC`` in a profile: the demo's (SB3's defaults), or our tuned ones.

    ``fast``: ``FAST_SAC``, actor and critics of two 64-unit layers instead of 256 (the observation and
    the action are 2 numbers each) and Adam's fused implementation (the same update in fewer kernels).
    Its ``gradient_steps`` count per VecEnv step of ``n_envs`` envs, so they are scaled by ``n_envs``: the
    same gradient steps per transition for any number of envs.
    """
    if check_profile(profile) == "original":
        return {}
    return {**FAST_SAC, "gradient_steps": FAST_SAC["gradient_steps"] * n_envs,
            "policy_kwargs": {"net_arch": list(FAST_NET_ARCH), "optimizer_kwargs": {"fused": True}}}


def profile_n_envs(profile: str) -> int:
    """How many envs a profile's training steps together: ``FAST_N_ENVS`` in the fast profile, 1 in the demo's."""
    return FAST_N_ENVS if check_profile(profile) == "fast" else 1


def check_learner(learner: str | None, profile: str) -> str:
    """The learner ``learner`` names (None: the profile's own), else raise ValueError naming the allowed values."""
    if learner is None:
        return "fast" if check_profile(profile) == "fast" else "sb3"
    if learner not in LEARNERS:
        raise ValueError(f"unknown learner {learner!r}; allowed values: {', '.join(LEARNERS)}")
    return learner


def sac_class(learner: str) -> type:
    """SB3's ``SAC`` class a learner trains with (both save agents that plain ``SAC.load`` reads)."""
    if learner == "fast":
        from panda_env.training.fast_sac import FastSAC

        return FastSAC
    from stable_baselines3 import SAC

    return SAC


def torch_threads(profile: str) -> int | None:
    """Torch's thread count for SAC in a profile (None: torch's default, all cores).

    ``fast``: 1. Its small networks' gradient step is overhead-bound, and a second torch thread
    only competes with OpenVINO and PyBullet.
    """
    return 1 if check_profile(profile) == "fast" else None


@contextlib.contextmanager
def profile_torch_threads(profile: str, override: int | None = None) -> Iterator[None]:
    """Run the block with the profile's torch thread count (or ``override``); restore the old one after.

    The thread count is process-wide, so it is given back even when the block fails.
    """
    import torch

    threads = override if override is not None else torch_threads(profile)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def scene_config(profile: str, image_size: int = DEFAULT_IMAGE_SIZE) -> SceneConfig | None:
    """The scene of a profile (None: the env's default scene for ``image_size``)."""
    if check_profile(profile) == "fast":
        return None
    # The seed demo: full meshes, plane + table URDF, its camera at 960x720, and a move of
    # 500 physics steps under position control.
    return SceneConfig(image_size=image_size, render_quality="full", camera="seed", table="seed",
                       camera_resolution=SEED_RESOLUTION, move_mode="physics", physics_steps=500)
