"""assert_vecenv_matches: Gymnasium vector envs (both autoreset modes) and SB3 VecEnvs match their envs
stepped one by one, and broken ones (shared state, mixed-up envs, a lost terminal observation) fail; a mismatch
names the first field that differs, observations (and their Dict keys) before the infos computed from them."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fakes import line_env
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from pytest_drlreward.checks import VecEnvMismatchError, assert_vecenv_matches

ENV_FNS = [line_env.LineEnv] * 3


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=str)
def test_gymnasium_vector_env_matches_its_envs(mode):
    vector = SyncVectorEnv(ENV_FNS, autoreset_mode=mode)
    report = assert_vecenv_matches(vector, ENV_FNS, seeds=(0, 7), n_steps=25)
    assert report.api == "Gymnasium" and report.n_envs == 3 and report.steps == 25 and report.episode_ends >= 3


def test_sb3_vec_env_matches_its_envs():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import DummyVecEnv

    report = assert_vecenv_matches(DummyVecEnv(ENV_FNS), ENV_FNS, seeds=(3,), n_steps=25)
    assert report.api == "SB3" and report.episode_ends >= 3


_SHARED = np.random.default_rng(0)


class SharedNoiseEnv(line_env.LineEnv):
    """A bug: a module-level RNG shared by every instance, so an env's results depend on the others."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward + float(_SHARED.integers(0, 2)), terminated, truncated, info


def test_envs_sharing_state_fail():
    fns = [SharedNoiseEnv] * 2
    with pytest.raises(VecEnvMismatchError, match=r"seed 0, step \d+, env \d: reward differs"):
        assert_vecenv_matches(SyncVectorEnv(fns), fns, n_steps=20)


def test_mixed_up_envs_and_a_lost_terminal_observation_fail():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import DummyVecEnv

    class Reversed(DummyVecEnv):  # results of env i reported for env n-1-i
        def step_wait(self):
            obs, rewards, dones, infos = super().step_wait()
            return obs[::-1].copy(), rewards[::-1].copy(), dones[::-1].copy(), infos[::-1]

    class Forgetful(DummyVecEnv):
        def step_wait(self):
            obs, rewards, dones, infos = super().step_wait()
            for info in infos:
                info.pop("terminal_observation", None)
            return obs, rewards, dones, infos

    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, size=(3, 2)).astype(np.float32) for _ in range(12)]
    with pytest.raises(VecEnvMismatchError, match=r"seed 0, step 0, env 0: observation differs"):
        assert_vecenv_matches(Reversed(ENV_FNS), ENV_FNS, actions=actions)
    with pytest.raises(VecEnvMismatchError, match=r"info\['terminal_observation'\] differs: the VecEnv gives None"):
        assert_vecenv_matches(Forgetful(ENV_FNS), ENV_FNS, actions=actions)


def test_bad_arguments_are_refused():
    vector = SyncVectorEnv(ENV_FNS)
    with pytest.raises(ValueError, match="3 envs but 2 env_fns"):
        assert_vecenv_matches(vector, ENV_FNS[:2])
    with pytest.raises(ValueError, match=r"actions\[0\] holds 2 actions, expected one per env \(3\)"):
        assert_vecenv_matches(vector, ENV_FNS, actions=[np.zeros((2, 2), np.float32)])
    with pytest.raises(ValueError, match="autoreset mode"):
        assert_vecenv_matches(SyncVectorEnv(ENV_FNS, autoreset_mode=AutoresetMode.DISABLED), ENV_FNS)


class UnseededGoalEnv(line_env.LineEnv):
    """panda-gym's case: a Dict observation whose ``desired_goal`` an unseeded ``reset()`` draws from a global
    RNG (not the env's own stream), and an info value computed from it, as a learned reward's would be."""

    def __init__(self) -> None:
        super().__init__()
        box = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = spaces.Dict({"observation": box, "desired_goal": box})
        self._desired = np.zeros(2, np.float32)

    def _goal_obs(self, obs):
        return {"observation": obs[:2].copy(), "desired_goal": self._desired.copy()}

    def _info(self, obs) -> dict:
        return {"goal_probability": float(np.exp(-np.linalg.norm(obs[:2] - self._desired)))}

    def reset(self, *, seed=None, options=None):
        obs, _ = super().reset(seed=seed)
        rng = self.np_random if seed is not None else _GLOBAL  # the bug: an unseeded reset leaves the env's stream
        self._desired = rng.uniform(-0.5, 0.5, 2).astype(np.float32)
        return self._goal_obs(obs), self._info(obs)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return self._goal_obs(obs), reward, terminated, truncated, {**info, **self._info(obs)}


_GLOBAL = np.random.default_rng(1)


@pytest.mark.parametrize("api", ["next-step", "same-step", "sb3"])
def test_differing_observations_are_named_before_the_infos_they_lead_to(api):
    """The first field that differs is named: the observation's key, not info['goal_probability'] computed from it,
    with the hint that the env was just auto-reset without a seed."""
    fns = [UnseededGoalEnv] * 2
    if api == "sb3":
        pytest.importorskip("stable_baselines3")
        from stable_baselines3.common.vec_env import DummyVecEnv

        vector = DummyVecEnv(fns)
    else:
        vector = SyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP if api == "next-step" else AutoresetMode.SAME_STEP)
    with pytest.raises(VecEnvMismatchError) as failure:
        assert_vecenv_matches(vector, fns, n_steps=30)
    message = str(failure.value)
    assert re.search(r"seed 0, step \d+, env \d: observation\['desired_goal'\] differs: the VecEnv gives array\(", message), message
    assert "goal_probability" not in message and "auto-reset without a seed" in message


def test_a_dict_observation_mismatch_at_reset_names_its_key():
    class Shifted(UnseededGoalEnv):
        def reset(self, *, seed=None, options=None):
            obs, info = super().reset(seed=seed)
            return {**obs, "observation": obs["observation"] + 1.0}, info

    with pytest.raises(VecEnvMismatchError, match=r"reset\(seed=0\), env 0: observation\['observation'\] differs"):
        assert_vecenv_matches(SyncVectorEnv([Shifted] * 2), [UnseededGoalEnv] * 2, n_steps=3)
