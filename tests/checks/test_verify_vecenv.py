"""assert_vecenv_matches: Gymnasium vector envs (both autoreset modes) and SB3 VecEnvs match their envs
stepped one by one, and broken ones (shared state, mixed-up envs, a lost terminal observation) fail."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import line_env
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
