"""Reward fidelity: Wilson intervals, rollouts (images, truth, where each step happened), the report's
numbers, and failures: a classifier wrong near the goal (false goals, missed goals) on the downstream
project's env and on PandaHover, too few goals, a learned reward read from info keys."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import ColourRule, line_env

from pytest_drlreward.checks import (
    FidelityError,
    NoImageSourceError,
    Proportion,
    RolloutError,
    assert_reward_fidelity,
    collect_rollout,
    wilson_interval,
)
from pytest_drlreward.env.policies import PolicyError, describe, load_policy


@pytest.fixture(scope="module")
def rollout():
    return collect_rollout(line_env.LineEnv(), 600, seed=0, truth_key="true_goal")


# --------------------------------------------------------------------------- Wilson intervals


@pytest.mark.parametrize("k, n, low, high", [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634),
                                             (1, 1484, 0.00012, 0.0038), (0, 0, 0.0, 1.0)])
def test_wilson_interval_matches_reference_values(k, n, low, high):
    assert wilson_interval(k, n) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_wilson_interval_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    assert np.isnan(Proportion(0, 0).value) and Proportion(0, 0).text() == "n/a (0/0)"


# --------------------------------------------------------------------------- rollouts


def test_rollout_keeps_images_truth_and_where_each_step_happened(rollout):
    assert rollout.images.shape == (600, 16, 16, 3) and rollout.images.dtype == np.uint8
    assert rollout.truth.dtype == bool and 20 <= rollout.truth.sum() <= 60
    assert rollout.decisions is None and rollout.policy == "random actions (seed 0)"
    # replay one step from what where() says: reset with its seed, redo the episode's actions
    index = int(np.flatnonzero(rollout.truth)[3])
    seed, step = int(rollout.episode_seeds[index]), int(rollout.episode_steps[index])
    assert rollout.where(index) == f"step {index} (seed {seed}, step {step + 1} of its episode)"
    replay = collect_rollout(line_env.LineEnv(), 600, seed=0, truth_key="true_goal")  # deterministic
    np.testing.assert_array_equal(replay.images, rollout.images)
    starts = np.flatnonzero(rollout.episode_steps == 0)
    assert np.all(np.diff(rollout.episode_seeds[starts]) == 1)  # seed + episode after each end


def test_rollout_without_an_image_source_or_truth_says_so():
    class Blind(line_env.LineEnv):
        camera_image = None  # no camera; render() still draws when render_mode="rgb_array"

        def render(self):
            return line_env.LineEnv.camera_image(self) if self.render_mode == "rgb_array" else None

    with pytest.raises(NoImageSourceError, match="no camera_image\\(\\) method and its render_mode is None"):
        collect_rollout(Blind(), 5)
    assert collect_rollout(Blind(render_mode="rgb_array"), 5).images.shape == (5, 16, 16, 3)  # render() works
    no_truth = collect_rollout(line_env.LineEnv(), 5, truth_key="nope")
    assert no_truth.truth is None
    with pytest.raises(RolloutError, match="reports no 'nope'"):
        assert_reward_fidelity(no_truth, ColourRule())


# --------------------------------------------------------------------------- the check


def test_an_honest_classifier_passes_with_the_numbers_it_reports(rollout):
    report = assert_reward_fidelity(rollout, ColourRule())
    decided = ColourRule().logits(rollout.images)[:, 1] > 0
    truth = rollout.truth
    assert report.recall == Proportion(int((decided & truth).sum()), int(truth.sum()))
    assert report.false_goal_rate == Proportion(int((decided & ~truth).sum()), int((~truth).sum()))
    assert report.agreement == Proportion(int((decided == truth).sum()), 600)
    assert report.recall.value >= 0.95 and report.false_goal_rate.successes == 0
    assert str(report).startswith("colour rule vs true_goal on 600 steps, random actions (seed 0): recall ")


@pytest.mark.parametrize("shift, problem, case", [
    (1.75, r"false-goal rate .* is above 0.5% \(even the interval's lower end is\)", "false goal at step"),
    (-1.75, r"goal recall .* is below 0.9 \(even the interval's upper end is\)", "missed goal at step"),
], ids=["says goal near the goal", "misses goals near the boundary"])
def test_a_classifier_wrong_near_the_goal_fails(rollout, shift, problem, case):
    with pytest.raises(FidelityError, match=problem) as excinfo:
        assert_reward_fidelity(rollout, ColourRule(shift))
    report = excinfo.value.report
    assert not report.passed and len(report.worst) == 5
    assert str(report.worst[0]).startswith(case) and "(seed " in str(report.worst[0])
    probabilities = [case.probability for case in report.worst]  # most confident mistakes first
    assert probabilities == sorted(probabilities, reverse=shift > 0)


def test_too_few_goals_cannot_judge_recall():
    short = collect_rollout(line_env.LineEnv(), 20, seed=0, truth_key="true_goal")
    with pytest.raises(FidelityError, match=r"reached the goal \d times .* fewer than 5: too few to judge recall"):
        assert_reward_fidelity(short, ColourRule())
    assert assert_reward_fidelity(short, ColourRule(), min_goals=0).passed


class LearnedRewardEnv(line_env.LineEnv):
    """An env whose own reward is 'learned': it also calls goal anything within ``factor`` goal radii."""

    def __init__(self, factor: float = 1.0) -> None:
        super().__init__()
        self.factor = factor

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        info["is_goal"] = self._distance() < line_env.GOAL_RADIUS * self.factor
        info["goal_probability"] = float(info["is_goal"])
        return obs, reward, terminated, truncated, info


def test_a_learned_reward_reported_in_info_is_judged_without_a_backend():
    report = assert_reward_fidelity(LearnedRewardEnv(1.0), n_steps=600)
    assert report.decider == "info['is_goal']" and report.agreement.value == 1.0
    with pytest.raises(FidelityError, match="false-goal rate"):
        assert_reward_fidelity(LearnedRewardEnv(1.6), n_steps=600)


# --------------------------------------------------------------------------- policies


def towards_goal(obs):
    """A goal-seeking policy: every episode of LineEnv ends at the goal."""
    return np.clip((obs[2:] - obs[:2]) / line_env.STEP_SIZE, -1.0, 1.0).astype(np.float32)


def test_a_policy_drives_the_rollout():
    rollout = collect_rollout(line_env.LineEnv(), 200, seed=0, truth_key="true_goal", policy=towards_goal)
    assert rollout.policy == "towards_goal" and rollout.truth.sum() >= 50
    assert assert_reward_fidelity(rollout, ColourRule()).recall.trials == rollout.truth.sum()


def test_load_policy_reads_module_functions_and_refuses_the_rest(monkeypatch, tmp_path):
    (tmp_path / "my_policies.py").write_text("def towards_goal(obs):\n    return obs[:2]\n\nCONSTANT = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # a module of the user's project, on its path
    policy = load_policy("my_policies:towards_goal")
    assert policy.__module__ == "my_policies" and policy.__name__ == "towards_goal" and describe(None) == "random actions"
    with pytest.raises(PolicyError, match="CONSTANT"):  # not a function or class
        load_policy("my_policies:CONSTANT")
    with pytest.raises(PolicyError, match="defines no 'nothing_here'"):
        load_policy("my_policies:nothing_here")
    with pytest.raises(PolicyError, match="neither an SB3 agent file"):
        load_policy("not a policy")
    with pytest.raises(PolicyError, match="no such file"):
        load_policy("missing_agent.zip")


def test_an_sb3_agent_file_is_a_policy(tmp_path):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    agent = PPO("MlpPolicy", line_env.LineEnv(), n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    agent.save(tmp_path / "agent.zip")
    policy = load_policy("agent.zip", base=tmp_path)
    assert describe(policy) == "PPO agent agent.zip"
    rollout = collect_rollout(line_env.LineEnv(), 30, seed=0, truth_key="true_goal", policy=policy)
    obs = line_env.LineEnv().reset(seed=0)[0]
    np.testing.assert_array_equal(policy(obs), agent.predict(obs, deterministic=True)[0])
    assert len(rollout) == 30


# --------------------------------------------------------------------------- PandaHover and the shipped classifier


def _panda_rollout(goal_radius: float, steps: int, policy=None):
    import gymnasium as gym

    import panda_env  # noqa: F401  (registers PandaHover-v0)

    env = gym.make("PandaHover-v0", goal_radius=goal_radius)
    try:
        if policy is not None:
            object_xy = env.unwrapped.object_xy
            rng = np.random.default_rng(0)
            policy_fn = lambda obs: np.clip(object_xy - obs + rng.normal(0, 0.03, 2), -0.1, 0.1).astype(np.float32)  # noqa: E731
        return collect_rollout(env, steps, seed=0, truth_key="true_goal", policy=policy_fn if policy else None)
    finally:
        env.close()


@pytest.fixture(scope="module")
def shipped_torch():
    pytest.importorskip("torch")
    from repo_paths import SHIPPED_MODEL

    from pytest_drlreward import load_backend

    return load_backend("torch", SHIPPED_MODEL, threads=1)


def test_shipped_classifier_is_faithful_on_pandahover_and_fails_against_another_goal_radius(shipped_torch):
    """The shipped classifier learned a 5 cm goal. Judged against an env whose truth is 8 cm, it misses the
    goals between 5 and 8 cm (random rollouts); against 3 cm, it calls goals between 3 and 5 cm (a
    goal-seeking policy visits them often enough to tell)."""
    assert assert_reward_fidelity(_panda_rollout(0.05, 300, policy="towards"), shipped_torch).passed
    with pytest.raises(FidelityError, match="goal recall"):
        assert_reward_fidelity(_panda_rollout(0.08, 600), shipped_torch)
    with pytest.raises(FidelityError, match="false-goal rate"):
        assert_reward_fidelity(_panda_rollout(0.03, 300, policy="towards"), shipped_torch)


class AlwaysWrong:
    """A goal judge that says the opposite of the truth it is given (a classifier that is always wrong)."""

    name = "always wrong"
    needs_image = False

    def judge(self, image, true_goal):
        return (not true_goal), float(not true_goal)


def test_pandahover_truth_is_the_geometry_not_the_learned_decision():
    """Mutation guard: ``true_goal`` must come from the simulator (distance below the goal radius), whatever the
    reward decides; an env reporting the learned decision as its truth could never fail fidelity."""
    import gymnasium as gym

    import panda_env  # noqa: F401

    env = gym.make("PandaHover-v0", judge=AlwaysWrong(), max_episode_steps=10)
    try:
        unwrapped = env.unwrapped
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        seen = {True: 0, False: 0}
        for step in range(120):
            towards = np.clip(unwrapped.object_xy - unwrapped._xy, -0.1, 0.1) if step % 3 else rng.uniform(-0.1, 0.1, 2)
            _, _, terminated, truncated, info = env.step(towards.astype(np.float32))
            distance = float(np.hypot(*(unwrapped._xy - unwrapped.object_xy)))
            assert info["true_goal"] == (distance < unwrapped.goal_radius), (distance, info)
            assert info["is_goal"] != info["true_goal"]  # the judge is always wrong; the truth is not its decision
            seen[info["true_goal"]] += 1
            if terminated or truncated:
                env.reset(seed=step)
        assert seen[True] >= 5 and seen[False] >= 5
        rollout = collect_rollout(env, 100, seed=0, truth_key="true_goal", decision_key="is_goal", images=False)
        with pytest.raises(FidelityError):
            assert_reward_fidelity(rollout, min_goals=0)
    finally:
        env.close()


def test_against_a_3cm_goal_the_search_finds_the_false_goals_with_no_policy(shipped_torch):
    """The 5 cm classifier judged against a 3 cm truth: the search (no policy given) finds its false goals."""
    import gymnasium as gym

    import panda_env  # noqa: F401
    from pytest_drlreward.checks.fidelity import collect_searches

    env = gym.make("PandaHover-v0", goal_radius=0.03)
    try:
        searches = collect_searches(env, shipped_torch, 2000, truth_key="true_goal")
    finally:
        env.close()
    rollout = _panda_rollout(0.03, 300)
    assert_reward_fidelity(rollout, shipped_torch, min_goals=0)  # random actions alone do not tell
    with pytest.raises(FidelityError, match="found false goals at a rate") as excinfo:
        assert_reward_fidelity(rollout, shipped_torch, searches=searches)
    assert excinfo.value.report.false_goals
