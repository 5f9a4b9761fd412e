"""Env stepping throughput, no learning: steps per second for given settings, measured here."""

from __future__ import annotations

import time

import numpy as np

from panda_env.envs.hover import PandaHoverEnv


def env_steps_per_second(n_steps: int = 300, seed: int = 0, **env_kwargs) -> float:
    """Step a fresh env with seeded random actions, resetting at episode ends; return steps/s.

    Every step renders the camera image, also for the oracle reward (which does not need it), so the
    figure always includes rendering.
    """
    env = PandaHoverEnv(max_episode_steps=10, **env_kwargs)
    try:
        env.action_space.seed(seed)
        env.reset(seed=seed)
        for _ in range(10):  # warm-up: first renders and first inference calls are slower
            env.step(env.action_space.sample())
        env.reset(seed=seed)
        actions = [env.action_space.sample() for _ in range(n_steps)]
        start = time.perf_counter()
        render_too = not env.judge.needs_image
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if render_too:
                env.camera_image()
            if terminated or truncated:
                env.reset()
        return n_steps / (time.perf_counter() - start)
    finally:
        env.close()


def render_quality_ratio(n_steps: int = 300, rounds: int = 3, progress_bar: bool = False,
                         **env_kwargs) -> dict[str, float]:
    """Steps/s of the ``fast`` and ``full`` render qualities, interleaved rounds, median of each.

    ``progress_bar``: show the rounds done on stderr (``panda_env.training.bar``)."""
    from panda_env.training.bar import progress

    rates: dict[str, list[float]] = {"fast": [], "full": []}
    bar = progress(2 * rounds, "bench-env", unit="round") if progress_bar else None
    for _ in range(rounds):
        for quality in rates:
            rates[quality].append(env_steps_per_second(n_steps, render_quality=quality, **env_kwargs))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    medians = {q: float(np.median(r)) for q, r in rates.items()}
    medians["ratio"] = medians["fast"] / medians["full"]
    return medians
