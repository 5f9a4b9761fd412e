"""N PandaHover envs stepped together, their N camera images classified in one reward-backend call.

``BatchedRewardVecEnv`` is a stable-baselines3 ``VecEnv``. Each step it advances every env (checks the
action, moves the arm), renders the N images into one preallocated uint8 (N, H, W, 3) buffer, asks the
shared backend for their logits once, and finishes every env's step with its verdict. An env's own
step would give the same observation, reward, termination and info (``PandaHoverEnv.step`` runs the
same ``_advance`` / judge / ``_finish`` halves); only the reward is computed for the batch at once.
Done envs are reset automatically, as SB3's ``DummyVecEnv`` does.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from panda_env.envs.goal import CallTimer, OracleJudge, goal_decisions
from panda_env.envs import task
from panda_env.envs.hover import PandaHoverEnv


class _BatchedJudge:
    """Stands in for the judge of an env whose reward the VecEnv decides; it loads nothing.

    The VecEnv never calls it; calling the env's own ``step`` (e.g. through ``env_method``) is an error,
    since the env has no backend of its own.
    """

    needs_image = True

    def __init__(self, name: str) -> None:
        self.name = name

    def judge(self, image, true_goal):
        raise RuntimeError("this env's reward is decided by its BatchedRewardVecEnv; step the VecEnv instead")


class BatchedRewardVecEnv(VecEnv):
    """``n_envs`` PandaHover envs sharing one reward backend, called once per step for all of them.

    ``reward_backend`` is ``"oracle"`` (the simulator's truth: no image, no network), a classifier
    backend name (``"torch"``, ``"onnxruntime"``, ``"openvino"``; loaded once from ``model_dir`` with
    ``backend_options``), or a backend object with ``.name`` and ``.logits(uint8 (N, H, W, 3)) ->
    (N, 2)``. ``env_kwargs`` go to every ``PandaHoverEnv`` (not ``reward_backend``, ``judge``,
    ``model_dir`` or ``backend_options``, which the VecEnv owns).
    """

    def __init__(self, n_envs: int, reward_backend: Any = "oracle", max_episode_steps: int | None = 10,
                 model_dir=None, backend_options: dict | None = None, **env_kwargs) -> None:
        if isinstance(n_envs, bool) or int(n_envs) != n_envs or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
        owned = {"judge", "reward_backend", "model_dir", "backend_options"} & set(env_kwargs)
        if owned:
            raise ValueError(f"BatchedRewardVecEnv sets {', '.join(sorted(owned))} itself; do not pass it in env_kwargs")
        n_envs = int(n_envs)
        self.backend = self._load_backend(reward_backend, model_dir, backend_options)
        self.reward_backend = "oracle" if self.backend is None else str(self.backend.name)
        self.reward_timer = CallTimer()
        self.envs: list[PandaHoverEnv] = []
        try:
            for _ in range(n_envs):
                judge = OracleJudge() if self.backend is None else _BatchedJudge(self.reward_backend)
                self.envs.append(PandaHoverEnv(max_episode_steps=max_episode_steps, judge=judge, **env_kwargs))
        except BaseException:
            for env in self.envs:
                env.close()
            raise
        first = self.envs[0]
        super().__init__(n_envs, first.observation_space, first.action_space)
        width, height = first.scene_config.camera_resolution or (first.scene_config.image_size,) * 2
        self._images = (np.zeros((n_envs, height, width, 3), dtype=np.uint8) if self.backend is not None
                        else None)
        self._obs = np.zeros((n_envs, *first.observation_space.shape), dtype=first.observation_space.dtype)
        self._rewards = np.zeros(n_envs, dtype=np.float32)
        self._dones = np.zeros(n_envs, dtype=bool)
        self._actions: np.ndarray | None = None
        self.metadata = first.metadata

    @staticmethod
    def _load_backend(reward_backend, model_dir, backend_options):
        if isinstance(reward_backend, str):
            if task.check_reward_backend(reward_backend) == "oracle":
                return None
            from panda_env.reward import load_backend

            return load_backend(reward_backend, model_dir, **(backend_options or {}))
        if not callable(getattr(reward_backend, "logits", None)) or not hasattr(reward_backend, "name"):
            raise TypeError(f"reward_backend must be a backend name or an object with .name and .logits(images), "
                            f"got {reward_backend!r}")
        return reward_backend

    # -- timing ----------------------------------------------------------------------------------
    @property
    def timers(self) -> dict[str, CallTimer]:
        """Physics and render time summed over the envs (a snapshot; the envs keep their own)."""
        totals = {"physics": CallTimer(), "render": CallTimer()}
        for env in self.envs:
            for key, total in totals.items():
                total.add(env.timers[key].total_s, env.timers[key].calls)
        return totals

    # -- VecEnv API ------------------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        for i, env in enumerate(self.envs):
            options = {"options": self._options[i]} if self._options[i] else {}
            self._obs[i], self.reset_infos[i] = env.reset(seed=self._seeds[i], **options)
        # As SB3's VecEnvs: seeds and options apply to this reset only.
        self._reset_seeds()
        self._reset_options()
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.asarray(actions)
        if actions.ndim == 0 or len(actions) != self.num_envs:
            raise ValueError(f"expected one action per env ({self.num_envs}), got shape {actions.shape}")
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        actions, self._actions = self._actions, None
        advanced = [env._advance(action) for env, action in zip(self.envs, actions)]
        verdicts = self._judge([true_goal for true_goal, _ in advanced])
        infos: list[dict[str, Any]] = []
        for i, (env, (true_goal, action_taken), (is_goal, probability)) in enumerate(zip(self.envs, advanced, verdicts)):
            obs, reward, terminated, truncated, info = env._finish(is_goal, probability, action_taken, true_goal)
            self._rewards[i] = reward
            self._dones[i] = terminated or truncated
            info["TimeLimit.truncated"] = bool(truncated and not terminated)
            if self._dones[i]:
                info["terminal_observation"] = obs
                obs, self.reset_infos[i] = env.reset()
            self._obs[i] = obs
            infos.append(info)
        return self._obs.copy(), self._rewards.copy(), self._dones.copy(), infos

    def _judge(self, true_goals: list[bool]) -> list[tuple[bool, float]]:
        """(is_goal, goal_probability) for every env: one backend call on all N images."""
        if self.backend is None:
            return [(bool(t), float(t)) for t in true_goals]
        for i, env in enumerate(self.envs):
            self._images[i] = env.camera_image()
        start = time.perf_counter()
        logits = self.backend.logits(self._images)
        self.reward_timer.add(time.perf_counter() - start)
        logits = np.asarray(logits)
        if logits.shape != (self.num_envs, 2):
            raise ValueError(f"backend {self.reward_backend!r} returned logits of shape {logits.shape}, "
                             f"expected ({self.num_envs}, 2)")
        return goal_decisions(logits)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(f"The render mode is {self.render_mode}, but this method assumes it is `rgb_array` "
                          f"to obtain images.")
            return [None for _ in self.envs]
        return [env.render() for env in self.envs]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [env.get_wrapper_attr(attr_name) for env in self._target_envs(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for env in self._target_envs(indices):
            setattr(env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return [env.get_wrapper_attr(method_name)(*method_args, **method_kwargs) for env in self._target_envs(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        from stable_baselines3.common import env_util

        return [env_util.is_wrapped(env, wrapper_class) for env in self._target_envs(indices)]

    def _target_envs(self, indices: VecEnvIndices) -> list[PandaHoverEnv]:
        return [self.envs[i] for i in self._get_indices(indices)]
