"""assert_deployed_reward_matches: the reward an env computes is the classifier's decision on each step's own inputs.

The env is the downstream project's ``DeployedLineEnv`` (its reward: a colour-sensitive classifier run on its own
camera image each step); the classifier here is ``ColourRule`` (red against blue, so a BGR swap flips it). The correct
env passes; a BGR swap and a stale frame fail naming a step that replays; an env reporting neither key, or rewarding
with its truth, is NOT VERIFIED.
"""

from __future__ import annotations

import ast
import re
import sys

import numpy as np
import pytest
from fakes import ColourRule
from repo_paths import DOWNSTREAM

from pytest_drlreward.checks import DeployedRewardError, assert_deployed_reward_matches, collect_rollout, decide
from pytest_drlreward.errors import NotVerifiedError

sys.path.insert(0, str(DOWNSTREAM))  # the downstream project's modules (line_env, deployed_env)

from deployed_env import DeployedLineEnv  # noqa: E402
from line_env import LineEnv  # noqa: E402

STEPS = 60
CASE = re.compile(r"step (\d+) \(episode (\d+), reset seed (\d+), step (\d+) of it; actions since reset (\[.*?\]\])\): "
                  r"the env says (no goal|goal) p=([\d.e-]+), the directory says (no goal|goal) p=([\d.e-]+)")


def _env(fault=None, backend=None):
    return DeployedLineEnv(backend or ColourRule(), fault=fault)


def test_the_correct_env_passes():
    report = assert_deployed_reward_matches(_env(), ColourRule(), n_steps=STEPS)
    assert report.passed and report.steps == STEPS and report.mismatches == 0
    assert report.max_probability_diff == 0.0  # the same rule on the same image
    assert "matched colour rule's decision (argmax == 1) on each step's own inputs at all 60 steps" in str(report)


@pytest.mark.parametrize(("fault", "cause"), [("bgr", "colour order"), ("stale", "a stale frame")])
def test_a_broken_deployed_path_fails_naming_a_step_that_replays(fault, cause):
    with pytest.raises(DeployedRewardError) as failure:
        assert_deployed_reward_matches(_env(fault), ColourRule(), n_steps=STEPS)
    message, report = str(failure.value), failure.value.report
    assert report.mismatches >= 10, message  # far from the goal the image's colours saturate: no change
    assert f"likely cause: {cause}" in message and "usual causes:" in message
    for usual in ("preprocessing", "BGR", "normalisation applied twice", "stale frame", "broken wrapper"):
        assert usual in message
    first = CASE.search(message)
    assert first is not None, message
    index, episode, seed, step = (int(first.group(i)) for i in range(1, 5))
    actions = [np.asarray(a, dtype=np.float32) for a in ast.literal_eval(first.group(5))]
    assert len(actions) == step and seed == episode  # seed 0 + episode
    # replay it as printed: reset with the seed, take the actions; the env and the directory say what the message says
    env = _env(fault)
    env.reset(seed=seed)
    for action in actions:
        _, _, _, _, info = env.step(action)
    assert info["goal_probability"] == pytest.approx(float(first.group(7)), rel=1e-3)
    assert decide(ColourRule(), env.camera_image()[None]).probability[0] == pytest.approx(float(first.group(9)), rel=1e-3)
    assert index == report.cases[0].index
    assert str(report).startswith(f"deployed reward: the env's info['is_goal'], info['goal_probability'] differ from "
                                  f"colour rule's decision (argmax == 1) at {report.mismatches} of 60 steps, first at "
                                  f"step {index} (reset seed {seed}, step {step} of its episode); likely cause: {cause}")


def test_an_env_reporting_neither_key_is_not_verified():
    with pytest.raises(NotVerifiedError) as failure:
        assert_deployed_reward_matches(_env(), ColourRule(), n_steps=5, decision_key="reward_goal",
                                       probability_key="reward_p")
    assert failure.value.check == "deployed"
    assert "info['reward_goal'] or info['reward_p'] at no step" in failure.value.reason
    assert "drl_deployed_keys" in failure.value.fix


def test_an_env_rewarding_with_its_truth_is_not_verified_when_the_classifier_differs():
    """LineEnv reports is_goal = its truth: no learned model is deployed, whatever the classifier says."""
    with pytest.raises(NotVerifiedError, match="rewards with its ground truth") as failure:
        assert_deployed_reward_matches(LineEnv(), ColourRule(shift=3.0), n_steps=STEPS)
    assert "drl_deployed_env_kwargs" in failure.value.fix


class _SaturatedNoGoal:
    """A classifier sure that nothing is a goal (p about 1e-22), as a saturated one is far from the goal."""

    name, goal_index = "saturated", 1

    def logits(self, images):
        return np.tile(np.array([[0.0, -50.0]]), (len(images), 1))


class _OracleWithProbability(LineEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, "goal_probability": float(info["is_goal"])}


def test_an_env_reporting_its_truth_as_probability_is_not_verified_even_where_the_classifier_agrees():
    rollout = collect_rollout(_OracleWithProbability(), 4, seed=0, decision_key="is_goal",
                              probability_key="goal_probability", truth_key="true_goal")
    assert not rollout.truth.any()  # no goal reached: the saturated classifier agrees within atol at every step
    with pytest.raises(NotVerifiedError, match=r"are its truth info\['true_goal'\] at all 4 steps \(the directory, "
                                               r"argmax == 1, differs at 0\)"):
        assert_deployed_reward_matches(rollout, _SaturatedNoGoal())


class _Reported(DeployedLineEnv):
    """Reports what ``change(info)`` makes of the deployed reward's info."""

    def __init__(self, change):
        super().__init__(ColourRule())
        self.change = change

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, self.change(info)


def test_probabilities_are_compared_within_atol_and_decisions_exactly():
    nudged = _Reported(lambda info: {**info, "goal_probability": info["goal_probability"] + 5e-4})
    assert assert_deployed_reward_matches(nudged, ColourRule(), n_steps=20).max_probability_diff == pytest.approx(5e-4)
    with pytest.raises(DeployedRewardError, match=r"at 20 of 20 steps \(required: equal decisions, probabilities within 1e-4\)"):
        assert_deployed_reward_matches(nudged, ColourRule(), n_steps=20, atol=1e-4)
    # decided at p > 0.3 instead of the rule's argmax: same probabilities, other decisions where 0.3 < p <= 0.5
    early = _Reported(lambda info: {**info, "is_goal": info["goal_probability"] > 0.3})
    rollout = collect_rollout(early, STEPS, decision_key="is_goal", probability_key="goal_probability")
    assert ((rollout.probabilities > 0.3) & (rollout.probabilities <= 0.5)).any()  # the test reaches such states
    with pytest.raises(DeployedRewardError, match=r"the env says goal p=0\.[345]\d*, the directory says no goal p=0\.[345]"):
        assert_deployed_reward_matches(rollout, ColourRule())


def test_a_nan_probability_fails():
    broken = _Reported(lambda info: {**info, "goal_probability": float("nan")})
    with pytest.raises(DeployedRewardError, match="p=nan"):
        assert_deployed_reward_matches(broken, ColourRule(), n_steps=5)


def test_decisions_alone_are_compared_when_the_env_reports_no_probability():
    report = assert_deployed_reward_matches(_env(), ColourRule(), n_steps=20, probability_key=None)
    assert report.passed and report.keys == "info['is_goal']"
    with pytest.raises(DeployedRewardError):
        assert_deployed_reward_matches(_env("bgr"), ColourRule(), n_steps=STEPS, probability_key=None)
