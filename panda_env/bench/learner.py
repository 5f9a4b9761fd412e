"""The cost of one SAC gradient step: SB3's own ``SAC.train`` against ``FastSAC`` on the same networks and batch.

Both agents get the profile's settings (the fast profile: 64-unit networks, batch 256, torch on one thread)
and the same replay buffer of random PandaHover transitions. Their ``train`` calls alternate in blocks in
one process, so a busy machine slows both alike; the ratio of the medians is the result. CPU time (the
process's, not the wall clock) is the headline because other jobs on the machine inflate it less.
"""

from __future__ import annotations

import time

import numpy as np

from panda_env.envs import task

BUFFER_TRANSITIONS = 1000


def filled_agent(learner: str, env, seed: int = 0, profile: str = "fast"):
    """A SAC agent of ``learner`` with the profile's settings, its replay buffer filled with random
    transitions (the same for every learner and seed), set up by SB3's own ``learn`` for one env step.
    Its ``gradient_steps`` are the profile's per train call as its training makes them (scaled for the
    profile's envs stepped together)."""
    from panda_env.training.profiles import profile_n_envs, sac_class, sac_options

    agent = sac_class(learner)("MlpPolicy", env, seed=seed, **sac_options(profile, profile_n_envs(profile)))
    rng = np.random.default_rng(seed)
    for _ in range(BUFFER_TRANSITIONS):
        obs = rng.uniform(task.WORKSPACE_LOW, task.WORKSPACE_HIGH, size=(1, 2)).astype(np.float32)
        action = rng.uniform(-0.1, 0.1, size=(1, 2)).astype(np.float32)
        agent.replay_buffer.add(obs, obs, action, np.array([-1.0]), np.array([False]), [{}])
    agent.learn(total_timesteps=1)  # SB3's public set-up (logger, progress); one env step, no update
    return agent


def _block(agent, calls: int, gradient_steps: int) -> tuple[float, float]:
    """CPU and wall ms per gradient step over ``calls`` train calls."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        agent.train(gradient_steps=gradient_steps, batch_size=agent.batch_size)
    steps = calls * gradient_steps
    return (time.process_time() - cpu) * 1000 / steps, (time.perf_counter() - wall) * 1000 / steps


def learner_step_costs(blocks: int = 7, calls: int = 25, seed: int = 0, profile: str = "fast",
                       threads: int | None = None) -> dict:
    """Median CPU and wall ms per gradient step of SB3's ``SAC.train`` and of ``FastSAC``, and their ratios.

    ``blocks`` alternating blocks of ``calls`` train calls each, with the profile's ``gradient_steps`` per
    call; ``threads`` overrides the profile's torch threads."""
    from panda_env.envs.hover import PandaHoverEnv
    from panda_env.training.profiles import profile_torch_threads

    env = PandaHoverEnv()
    try:
        with profile_torch_threads(profile, threads):
            agents = {name: filled_agent(name, env, seed, profile) for name in ("sb3", "fast")}
            gradient_steps = max(agents["sb3"].gradient_steps, 1)
            samples = {name: [] for name in agents}
            for agent in agents.values():  # warm-up: first calls build buffers and caches
                _block(agent, 3, gradient_steps)
            for _ in range(blocks):
                for name, agent in agents.items():
                    samples[name].append(_block(agent, calls, gradient_steps))
    finally:
        env.close()
    result = {"profile": profile, "gradient_steps_per_call": gradient_steps, "batch_size": agents["sb3"].batch_size,
              "blocks": blocks, "calls_per_block": calls}
    for name, rows in samples.items():
        cpu, wall = (sorted(column) for column in zip(*rows, strict=True))
        result[f"{name}_cpu_ms"], result[f"{name}_wall_ms"] = cpu[len(cpu) // 2], wall[len(wall) // 2]
        result[f"{name}_cpu_q1_ms"], result[f"{name}_cpu_q3_ms"] = cpu[len(cpu) // 4], cpu[(3 * len(cpu)) // 4]
    result["cpu_ratio"] = result["sb3_cpu_ms"] / result["fast_cpu_ms"]
    result["wall_ratio"] = result["sb3_wall_ms"] / result["fast_wall_ms"]
    result["cpu_ratio_iqr"] = [result["sb3_cpu_q1_ms"] / result["fast_cpu_q3_ms"],
                               result["sb3_cpu_q3_ms"] / result["fast_cpu_q1_ms"]]
    return result
