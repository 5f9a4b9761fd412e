"""Where the env supplies each classifier input, and one clear error when it does not."""

from __future__ import annotations

import numpy as np
import pytest
import reward_models

from pytest_drlreward.classifier.metadata import InputSpec
from pytest_drlreward.env.inputs import EnvInputError, env_inputs
from pytest_drlreward.env.spec import accepts_keyword

FRONT = InputSpec("front", (None, 3, 64, 64), "float32", "NCHW", "front", (0.0, 1.0))
WRIST = InputSpec("wrist", (None, 3, 64, 64), "float32", "NCHW", "wrist", (0.0, 1.0))


def test_camera_images_supply_named_inputs():
    env = reward_models.TwoViewEnv()
    env.reset(seed=0)
    got = env_inputs(env, (FRONT, WRIST))
    assert set(got) == {"front", "wrist"} and got["front"].shape == (3, 64, 64)


def test_a_missing_env_input_names_the_input_and_what_the_env_offers():
    env = reward_models.TwoViewEnv()
    env.reset(seed=0)
    side = InputSpec("side", (None, 3, 64, 64), "float32", "NCHW", "side", (0.0, 1.0))
    with pytest.raises(EnvInputError, match=r"input 'side': TwoViewEnv supplies no 'side'.*offers \['front', 'wrist'\]"):
        env_inputs(env, (FRONT, side))
    remapped = env_inputs(env, (FRONT, side), input_keys={"side": "wrist"})  # drl_input_keys
    np.testing.assert_array_equal(remapped["side"], env.camera_images()["wrist"])


def test_an_env_input_of_another_shape_names_both_shapes():
    env = reward_models.TwoViewEnv()
    env.reset(seed=0)
    small = InputSpec("front", (None, 3, 32, 32), "float32", "NCHW", "front", (0.0, 1.0))
    with pytest.raises(EnvInputError, match=r"input 'front'.*camera_images\(\)\['front'\] gives float32 \(3, 64, 64\); "
                                            r"the classifier takes float32 \(3, 32, 32\)"):
        env_inputs(env, (small, WRIST))


def test_dict_observation_keys_supply_inputs():
    class Obs:
        unwrapped = None

    env = Obs()
    env.unwrapped = env
    obs = {"front": np.zeros((3, 64, 64), np.float32), "wrist": np.ones((3, 64, 64), np.float32)}
    got = env_inputs(env, (FRONT, WRIST), obs=obs)
    assert got["wrist"].max() == 1.0


def test_render_mode_is_passed_only_to_factories_that_take_it():
    assert accepts_keyword("reward_models:make_two_view_env", "render_mode")  # def make_two_view_env(**kwargs)
    assert not accepts_keyword("reward_models:TwoViewEnv", "render_mode")
    assert accepts_keyword("CartPole-v1", "render_mode")
