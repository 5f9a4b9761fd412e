"""N PandaHover envs stepped together, their N camera images classified in one reward-backend call.

``BatchedRewardVecEnv`` is stable-baselines3's ``DummyVecEnv`` with one change: before its step loop,
every env begins its step (``PandaHoverEnv.begin_step``: action checked, arm moved), the N images are
rendered into one preallocated uint8 (N, H, W, 3) buffer and classified in one backend call; each
env's ``step`` then only completes its own step with that verdict (``complete_step``). Everything
else (auto-reset, ``terminal_observation``, ``TimeLimit.truncated``, attribute access) is SB3's.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from panda_env.envs.goal import CallTimer, OracleJudge, goal_decisions, load_reward_backend
from panda_env.envs.hover import PandaHoverEnv, PendingStep


class _VecJudged:
    """Stands in for the judge of an env whose reward its VecEnv decides; it loads nothing."""

    needs_image = True

    def __init__(self, name: str) -> None:
        self.name = name

    def judge(self, image, true_goal):
        raise RuntimeError("this env's reward is decided by its BatchedRewardVecEnv; step the VecEnv instead")


class _CompleteStep(gym.Wrapper):
    """One env of the VecEnv: ``step`` completes the step the VecEnv began and judged for it."""

    def __init__(self, env: PandaHoverEnv) -> None:
        super().__init__(env)
        self.verdict: tuple[PendingStep, bool, float] | None = None

    def step(self, action):
        if self.verdict is None:
            raise RuntimeError("this env's reward is decided by its BatchedRewardVecEnv; step the VecEnv instead")
        verdict, self.verdict = self.verdict, None
        return self.env.unwrapped.complete_step(*verdict)


class BatchedRewardVecEnv(DummyVecEnv):
    """``n_envs`` PandaHover envs sharing one reward backend, called once per step for all of them.

    ``reward_backend`` is ``"oracle"`` (the simulator's truth: no image, no network), a classifier
    backend name (loaded once from ``model_dir`` with ``backend_options``), or a backend object with
    ``.name``, ``.goal_index`` and ``.logits(uint8 (N, H, W, 3)) -> (N, K)``. ``env_kwargs`` go to every
    ``PandaHoverEnv`` (not ``reward_backend``, ``judge``, ``model_dir`` or ``backend_options``, which
    the VecEnv owns).
    """

    def __init__(self, n_envs: int, reward_backend: Any = "oracle", max_episode_steps: int | None = 10,
                 model_dir=None, backend_options: dict | None = None, **env_kwargs) -> None:
        if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
        owned = {"judge", "reward_backend", "model_dir", "backend_options"} & set(env_kwargs)
        if owned:
            raise ValueError(f"BatchedRewardVecEnv sets {', '.join(sorted(owned))} itself; do not pass it in env_kwargs")
        self.backend = load_reward_backend(reward_backend, model_dir, backend_options)
        self.reward_backend = OracleJudge.name if self.backend is None else str(self.backend.name)
        self.reward_timer = CallTimer()
        made: list[PandaHoverEnv] = []

        def make() -> gym.Env:
            judge = OracleJudge() if self.backend is None else _VecJudged(self.reward_backend)
            made.append(PandaHoverEnv(max_episode_steps=max_episode_steps, judge=judge, **env_kwargs))
            return _CompleteStep(made[-1])

        try:
            super().__init__([make] * int(n_envs))
        except BaseException:
            for env in made:
                env.close()
            raise
        shape = made[0].scene_config.image_shape
        self._images = np.zeros((self.num_envs, *shape), dtype=np.uint8) if self.backend else None

    @property
    def timers(self) -> dict[str, CallTimer]:
        """Physics and render time summed over the envs (a snapshot; the envs keep their own)."""
        totals = {"physics": CallTimer(), "render": CallTimer()}
        for env in self.envs:
            for key, total in totals.items():
                total.add(env.unwrapped.timers[key].total_s, env.unwrapped.timers[key].calls)
        return totals

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.asarray(actions)
        if actions.ndim == 0 or len(actions) != self.num_envs:
            raise ValueError(f"expected one action per env ({self.num_envs}), got shape {actions.shape}")
        super().step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        pending = [env.unwrapped.begin_step(action) for env, action in zip(self.envs, self.actions)]
        for env, begun, (is_goal, probability) in zip(self.envs, pending, self._judge(pending)):
            env.verdict = (begun, is_goal, probability)
        return super().step_wait()

    def _judge(self, pending: list[PendingStep]) -> list[tuple[bool, float]]:
        """(is_goal, goal_probability) for every env: one backend call on all N images."""
        if self.backend is None:
            return [(p.true_goal, float(p.true_goal)) for p in pending]
        for i, env in enumerate(self.envs):
            self._images[i] = env.unwrapped.camera_image()
        start = time.perf_counter()
        logits = np.asarray(self.backend.logits(self._images))
        self.reward_timer.add(time.perf_counter() - start)
        if logits.ndim != 2 or len(logits) != self.num_envs:
            raise ValueError(f"backend {self.reward_backend!r} returned logits of shape {logits.shape}, "
                             f"expected ({self.num_envs}, K)")
        return goal_decisions(logits, self.backend.goal_index)
