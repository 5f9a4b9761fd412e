"""Gymnasium's and SB3's env checkers as the suite runs them: a sound env passes, broken envs fail."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import line_env

from pytest_drlreward.checks import EnvCheckerError, run_gymnasium_checker, run_sb3_checker


class OutOfSpace(line_env.LineEnv):
    """Observations outside the observation space: Gymnasium's checker only warns about it."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs * 3.0, reward, terminated, truncated, info


class NoSeed(line_env.LineEnv):
    """reset ignores its seed: two resets with one seed differ."""

    def reset(self, *, seed=None, options=None):
        return super().reset(seed=None, options=options)


def test_a_sound_env_passes_both():
    assert run_gymnasium_checker(line_env.LineEnv()) == []
    pytest.importorskip("stable_baselines3")
    assert run_sb3_checker(line_env.LineEnv()) == []


def test_gymnasium_checker_warnings_fail():
    with pytest.raises(EnvCheckerError, match=r"Gymnasium's check_env warns about OutOfSpace:\n  - .*not within the observation space"):
        run_gymnasium_checker(OutOfSpace())
    assert run_gymnasium_checker(OutOfSpace(), warnings_fail=False)  # returned instead


def test_gymnasium_checker_errors_fail():
    with pytest.raises(EnvCheckerError, match=r"Gymnasium's check_env fails on NoSeed: AssertionError: .*seed"):
        run_gymnasium_checker(NoSeed())


def test_sb3_checker_errors_fail_and_its_advice_is_returned():
    pytest.importorskip("stable_baselines3")

    class ListObs(line_env.LineEnv):
        def step(self, action):
            obs, reward, terminated, truncated, info = super().step(action)
            return list(obs), reward, terminated, truncated, info

    with pytest.raises(EnvCheckerError, match="stable-baselines3's check_env fails on ListObs"):
        run_sb3_checker(ListObs())

    class Wide(line_env.LineEnv):
        def __init__(self):
            super().__init__()
            from gymnasium import spaces

            self.action_space = spaces.Box(-3.0, 3.0, shape=(2,), dtype=np.float32)

    assert any("symmetric and normalized Box action space" in advice for advice in run_sb3_checker(Wide()))
