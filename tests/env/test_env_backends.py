"""Step contract and reward rules of PandaHover-v0 with every reward backend, driven by Hypothesis."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given

import panda_env
from panda_env.envs import task
from panda_env.envs.hover import REWARD_BACKENDS, PandaHoverEnv
from pytest_drlreward.checks import StepContractError, assert_step_contract
from pytest_drlreward.strategies import action_sequences, seeds

INFO_KEYS = ("is_goal", "goal_probability", "true_goal", "action_taken")


@pytest.mark.parametrize("backend", REWARD_BACKENDS)
def test_step_contract_and_rewards_for_every_backend(backend):
    env = gym.make(panda_env.ENV_ID, reward_backend=backend)
    try:
        @given(seed=seeds(), actions=action_sequences(env.action_space, min_size=1, max_size=12))
        def check(seed, actions):
            assert_step_contract(env, actions, seed=seed, reward_set=task.REWARDS, required_info_keys=INFO_KEYS)
            env.reset(seed=seed)
            for action in actions:
                _, reward, terminated, _, info = env.step(action)
                assert 0.0 <= info["goal_probability"] <= 1.0
                assert info["is_goal"] == (info["goal_probability"] > 0.5) == terminated
                assert (reward == task.REWARD_GOAL) == info["is_goal"]
                if terminated:
                    break

        check()
    finally:
        env.close()


def test_classifier_reward_agrees_with_the_simulator_on_a_straight_approach():
    """Heading for the object, the OpenVINO reward ends the episode where the simulator says goal."""
    env = gym.make(panda_env.ENV_ID, reward_backend="openvino", max_episode_steps=20)
    try:
        agreements = []
        for seed in range(5):
            obs, _ = env.reset(seed=seed)
            for _ in range(20):
                action = np.clip(env.unwrapped.object_xy - obs, -0.1, 0.1).astype(np.float32)
                obs, _, terminated, truncated, info = env.step(action)
                agreements.append(info["is_goal"] == info["true_goal"])
                if terminated or truncated:
                    break
            assert info["true_goal"] and terminated, (seed, info)
        assert all(agreements)
    finally:
        env.close()


class _EscapingEnv(gym.Wrapper):
    """A broken env: its observations leave the observation space."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs + np.float32(1.0), reward, terminated, truncated, info


def test_the_step_contract_check_catches_an_env_that_breaks_its_bounds():
    env = _EscapingEnv(gym.make(panda_env.ENV_ID))
    try:
        with pytest.raises(StepContractError, match="not in observation_space"):
            assert_step_contract(env, [np.zeros(2, np.float32)], seed=0, reward_set=task.REWARDS)
    finally:
        env.close()


def test_goal_index_of_the_metadata_decides_the_reward(model_copy):
    """A classifier whose metadata says column 0 means goal gets the opposite decisions, in the env and the VecEnv.

    The copy keeps the shipped network and swaps the meaning of its columns (``goal_index`` 0, classes
    reversed): wherever the shipped classifier says goal, this one must say not-goal, and vice versa.
    """
    import json

    from panda_env.envs.batched import BatchedRewardVecEnv
    from pytest_drlreward.classifier import METADATA_FILE

    metadata = json.loads((model_copy / METADATA_FILE).read_text())
    metadata["decision"]["goal_index"], metadata["classes"] = 0, ["goal", "not_goal"]
    (model_copy / METADATA_FILE).write_text(json.dumps(metadata))
    shipped = PandaHoverEnv(reward_backend="onnxruntime", max_episode_steps=10)
    swapped = PandaHoverEnv(reward_backend="onnxruntime", model_dir=model_copy, max_episode_steps=10)
    vec = BatchedRewardVecEnv(1, "onnxruntime", model_dir=model_copy)
    try:
        vec.seed(5)
        vec.reset()
        for env in (shipped, swapped):
            env.reset(seed=5)
        decisions = []
        for step in range(6):  # straight at the object: the shipped classifier sees the goal on the way
            action = np.clip(shipped.object_xy - shipped._observation(), -0.1, 0.1).astype(np.float32)
            *_, info = shipped.step(action)
            *_, swapped_info = swapped.step(action)
            if step == 0:  # the VecEnv ends its episode when it sees a goal: compare its first step only
                _, _, _, (vec_info,) = vec.step(action[None])
                assert vec_info["is_goal"] == swapped_info["is_goal"]
            assert swapped_info["is_goal"] == (not info["is_goal"])
            assert swapped_info["goal_probability"] == pytest.approx(1 - info["goal_probability"], abs=1e-5)
            decisions.append(info["is_goal"])
            if info["is_goal"]:
                break
        assert decisions[0] is False and decisions[-1] is True  # both decisions were compared
    finally:
        for env in (shipped, swapped, vec):
            env.close()
