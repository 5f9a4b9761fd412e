"""N PandaHover envs stepped together, their N camera images judged in one call of a batch-first judge.

``BatchedRewardVecEnv`` is stable-baselines3's ``DummyVecEnv`` with its step loop in two halves: every
env begins its step (``PandaHoverEnv.begin_step``: action checked, arm moved), the N images are
rendered into one preallocated uint8 (N, H, W, 3) buffer and judged at once by the envs' shared judge
(``judge_batch``: the directory's one decision rule), then each env completes its step with its
verdict (``complete_step``). Auto-reset, ``terminal_observation`` and ``TimeLimit.truncated`` follow
SB3's loop; attribute access is SB3's. Each env holds the same judge, so stepping one alone works too.
A false goal (the classifier's goal, not the simulator's) puts the image it judged into that step's info
under ``pytest_drlreward.audit``'s views key, so a training's reward audit keeps what the classifier saw.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from panda_env.envs.goal import CallTimer, ClassifierJudge, OracleJudge, load_reward_backend
from panda_env.envs.hover import PandaHoverEnv, PendingStep
from pytest_drlreward.audit.frames import IMAGE, VIEWS_KEY
from pytest_drlreward.util.validation import check_int


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
        check_int(n_envs, "n_envs")
        owned = {"judge", "reward_backend", "model_dir", "backend_options"} & set(env_kwargs)
        if owned:
            raise ValueError(f"BatchedRewardVecEnv sets {', '.join(sorted(owned))} itself; do not pass it in env_kwargs")
        self.backend = load_reward_backend(reward_backend, model_dir, backend_options)
        self.judge = OracleJudge() if self.backend is None else ClassifierJudge(self.backend)
        self.judge.warm_up(int(n_envs))  # e.g. OpenVINO's compile for this batch size: now, not in the first step
        self.reward_backend = self.judge.name
        made: list[PandaHoverEnv] = []

        def make() -> gym.Env:
            made.append(PandaHoverEnv(max_episode_steps=max_episode_steps, judge=self.judge, **env_kwargs))
            return made[-1]

        try:
            super().__init__([make] * int(n_envs))
        except BaseException:
            for env in made:
                env.close()
            raise
        shape = made[0].scene_config.image_shape
        self._images = np.zeros((self.num_envs, *shape), dtype=np.uint8) if self.backend else None

    @property
    def reward_timer(self) -> CallTimer:
        """Time spent in the judge's backend calls (one per VecEnv step)."""
        return getattr(self.judge, "timer", CallTimer())

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
        """SB3's ``DummyVecEnv.step_wait`` with each env's step split around one judge call for all envs."""
        pending = [env.unwrapped.begin_step(action) for env, action in zip(self.envs, self.actions)]
        goals, probabilities = self._judge(pending)
        for i, (env, begun) in enumerate(zip(self.envs, pending)):
            obs, self.buf_rews[i], terminated, truncated, self.buf_infos[i] = env.unwrapped.complete_step(
                begun, bool(goals[i]), float(probabilities[i]))
            if goals[i] and not begun.true_goal and self._images is not None:  # a false goal: keep its image
                self.buf_infos[i][VIEWS_KEY] = {IMAGE: self._images[i].copy()}
            self.buf_dones[i] = terminated or truncated
            self.buf_infos[i]["TimeLimit.truncated"] = truncated and not terminated
            if self.buf_dones[i]:
                self.buf_infos[i]["terminal_observation"] = obs
                obs, self.reset_infos[i] = env.reset()
            self._save_obs(i, obs)
        return self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones), deepcopy(self.buf_infos)

    def _judge(self, pending: list[PendingStep]) -> tuple[np.ndarray, np.ndarray]:
        """(is_goal (N,), goal_probability (N,)) for every env: one judge call on all N images."""
        truth = np.array([p.true_goal for p in pending], dtype=bool)
        if not self.judge.needs_image:
            return self.judge.judge_batch(None, truth)
        for i, env in enumerate(self.envs):
            self._images[i] = env.unwrapped.camera_image()
        return self.judge.judge_batch(self._images, truth)
