"""The suite's deployed-path test end to end (``pytest --pyargs pytest_drlreward.suite -k deployed``).

- the downstream project's env with its learned reward deployed (``deployed_env.make_env``) passes; the same env
  judging the image in BGR, or the frame before the move, fails with one summary line naming the step;
- an env that reports no reward of its own (``line_env``, with its keys renamed away) is NOT VERIFIED;
- PandaHover with the shipped classifier deployed (``drl_deployed_env_kwargs = reward_backend = onnxruntime``)
  passes; its default oracle reward is NOT VERIFIED (it rewards with its truth).
"""

from __future__ import annotations

import re
import shutil

import pytest
from repo_paths import DOWNSTREAM, SHIPPED_MODEL

pytest_plugins = ["pytester"]

SUITE = ("--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider", "-k", "deployed", "-rfs")
STEP_LINE = re.compile(r"differ from torch's decision \(argmax == 1\) at \d+ of 60 steps, first at step \d+ "
                       r"\(reset seed \d+, step \d+ of its episode\)")


@pytest.fixture
def downstream(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(DOWNSTREAM, pytester.path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache"))
    with (pytester.path / "pytest.ini").open("a") as ini:
        ini.write("drl_deployed_steps = 60\n")
    return pytester


@pytest.mark.parametrize(("factory", "cause"), [("make_env", None), ("make_bgr_env", "colour order"),
                                                ("make_stale_env", "a stale frame")])
def test_the_suite_judges_the_reward_the_env_computes(downstream, factory, cause):
    result = downstream.runpytest_subprocess(*SUITE, f"--drl-env=deployed_env:{factory}")
    out = result.stdout.str()
    if cause is None:
        result.assert_outcomes(passed=1)
        assert ("deployed reward: the env's info['is_goal'], info['goal_probability'] matched torch's decision "
                "(argmax == 1) on each step's own inputs at all 60 steps") in out, out
        return
    result.assert_outcomes(failed=1)
    summary = [line for line in out.splitlines() if STEP_LINE.search(line)]
    assert summary and all(f"likely cause: {cause}" in line for line in summary), out
    assert re.search(r"step \d+ \(episode \d+, reset seed \d+, step \d+ of it; actions since reset \[\[", out), out


def test_an_env_reporting_no_reward_of_its_own_is_not_verified(downstream):
    result = downstream.runpytest_subprocess(*SUITE, "--drl-deployed-keys=decision = reward_goal; probability = none")
    result.assert_outcomes(failed=1)
    assert "NOT VERIFIED (deployed): the env reports its reward in info['reward_goal'] at no step" in result.stdout.str()


def test_pandahover_with_the_shipped_classifier_deployed_passes(pytester: pytest.Pytester):
    pytest.importorskip("pybullet")
    pytester.makeini(f"[pytest]\ndrl_env = panda_env:PandaHover-v0\ndrl_model = {SHIPPED_MODEL}\ndrl_backends = onnxruntime\n"
                     f"drl_truth_key = true_goal\ndrl_deployed_steps = 30\ndrl_trusted_modules = panda_env.reward.model\n"
                     f"drl_deployed_env_kwargs = reward_backend = onnxruntime\n")
    result = pytester.runpytest_subprocess(*SUITE)
    result.assert_outcomes(passed=1)
    assert ("deployed reward: the env's info['is_goal'], info['goal_probability'] matched torch's decision (argmax == 1) "
            "on each step's own inputs at all 30 steps") in result.stdout.str()


def test_pandahover_rewarding_with_its_truth_is_not_verified():
    pytest.importorskip("pybullet")
    import gymnasium as gym

    import panda_env  # noqa: F401  (registers PandaHover-v0)
    from pytest_drlreward import load_backend
    from pytest_drlreward.checks import assert_deployed_reward_matches
    from pytest_drlreward.errors import NotVerifiedError

    env = gym.make("PandaHover-v0")  # reward_backend="oracle"
    try:
        with pytest.raises(NotVerifiedError, match="rewards with its ground truth") as failure:
            assert_deployed_reward_matches(env, load_backend("onnxruntime", SHIPPED_MODEL),
                                           n_steps=10)
    finally:
        env.close()
    assert "reward_backend = onnxruntime" in failure.value.fix


def test_the_deployed_settings_parse_and_refuse_what_they_cannot_read():
    from pytest_drlreward.checks.deployed_settings import parse_deployed_keys, parse_env_kwargs

    assert parse_deployed_keys("probability = none") == {"decision": "is_goal", "probability": None}
    assert parse_deployed_keys(["decision = done", "probability = p"]) == {"decision": "done", "probability": "p"}
    assert parse_env_kwargs("reward_backend = onnxruntime, image_size = 48") == {"reward_backend": "onnxruntime",
                                                                                "image_size": 48}
    with pytest.raises(ValueError, match="'reward = x' must look like 'decision = INFO_KEY'"):
        parse_deployed_keys("reward = x")
    with pytest.raises(ValueError, match="give keyword arguments as 'key = value' lines"):
        parse_env_kwargs("torch: threads = 1")


def test_a_bad_deployed_setting_is_one_usage_error_at_start(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\ndrl_deployed_keys = reward = x\n")
    result = pytester.runpytest("--pyargs", "pytest_drlreward.suite", "-k", "deployed")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "drl_deployed_keys 'reward = x'" in result.stderr.str() and "must look like" in result.stderr.str()
