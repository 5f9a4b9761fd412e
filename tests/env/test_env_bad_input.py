"""Bad input to the env fails at construction or at the step, naming the value.

Split from the former test_reliability.py; each test fails without the fix it names.
"""

from __future__ import annotations

import pytest

from panda_env.envs.hover import PandaHoverEnv


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"goal_radius": float("inf")}, "goal_radius must be a number in"),
    ({"goal_radius": 0.0}, "goal_radius must be a number in"),
    ({"object_position": (0.9, 0.0, 0.05)}, "object_position must be"),
    ({"object_position": (0.6, 0.0)}, "object_position must be"),
    ({"image_size": 48.0}, "image_size must be a positive integer"),
    ({"image_size": 100_000}, "image_size must be a positive integer up to"),
    ({"image_size": 64, "reward_backend": "onnxruntime"}, "takes images of shape \\(48, 48, 3\\)"),
    ({"max_episode_steps": 2.5}, "max_episode_steps must be a positive integer"),
])
def test_bad_env_arguments_fail_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PandaHoverEnv(**kwargs)


@pytest.mark.parametrize("action", [["0.05", "0"], "ab", [0.05 + 1j, 0], [10**400, 0], [True, False]],
                         ids=["numeric-strings", "string", "complex", "overflow", "bools"])
def test_actions_that_are_not_real_numbers_are_refused(action):
    env = PandaHoverEnv()
    try:
        env.reset(seed=0)
        with pytest.raises(ValueError, match="action must be an array of 2 real numbers"):
            env.step(action)
    finally:
        env.close()


def test_stepping_before_reset_is_an_error_not_a_reward():
    env = PandaHoverEnv()
    try:
        with pytest.raises(RuntimeError, match="call reset\\(\\) before step\\(\\)"):
            env.step([0.0, 0.0])
    finally:
        env.close()
