"""The reward audit's counting, onset rule, Wilson intervals, kept false goals and saving, on a scripted env
(fast: no training, no network)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from audit_envs import ScriptedEnv

from pytest_drlreward.audit import AuditKeyError, AuditReport, RewardAudit, load_false_goals
from pytest_drlreward.audit.frames import FalseGoalKeeper, KeptFalseGoal
from pytest_drlreward.audit.tally import Tally
from pytest_drlreward.checks import stats
from pytest_drlreward.checks.rollout import TruthValueError

YES, NO = True, False
FALSE_GOAL, TRUE_GOAL, NOTHING, MISSED = (YES, NO), (YES, YES), (NO, NO), (NO, YES)


def run(env, steps: int) -> None:
    env.reset(seed=7)
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            env.reset()


def test_counts_per_window_and_per_episode():
    # 10-step windows; episodes end on a learned goal or after 5 steps
    script = [NOTHING, NOTHING, TRUE_GOAL,  # episode 1 (learned and true)
              NOTHING, FALSE_GOAL,  # episode 2 (learned, false goal)
              MISSED, NOTHING, NOTHING, NOTHING, NOTHING]  # episode 3 (true, missed, 5 steps: truncated)
    env = RewardAudit(ScriptedEnv(script), window_steps=10)
    run(env, 20)
    report = env.report()
    assert [(w.start, w.end) for w in report.windows] == [(1, 10), (11, 20)]
    first = report.windows[0].counts
    assert (first.steps, first.learned, first.true, first.false_goals, first.missed) == (10, 2, 2, 1, 1)
    assert (first.episodes, first.learned_episodes, first.true_episodes, first.false_goal_episodes) == (3, 2, 2, 1)
    assert report.counts.steps == 20 and report.counts.false_goals == 2 and report.counts.episodes == 6
    assert first.learned_success.value == pytest.approx(2 / 3) and first.true_success.value == pytest.approx(2 / 3)
    assert first.false_goal_share.value == pytest.approx(0.5)


def test_the_intervals_are_the_checks_wilson_intervals():
    env = RewardAudit(ScriptedEnv([FALSE_GOAL, TRUE_GOAL, TRUE_GOAL]), window_steps=30)
    run(env, 30)
    share = env.report().windows[0].counts.false_goal_share
    assert isinstance(share, stats.Proportion)
    assert share.interval == stats.wilson_interval(10, 30)


def test_the_onset_is_the_first_window_whose_lower_bound_is_above_the_limit():
    honest = [TRUE_GOAL] * 20
    exploited = [FALSE_GOAL] * 6 + [TRUE_GOAL] * 14  # 6 of 20 learned successes false: lower bound 0.145
    env = RewardAudit(ScriptedEnv(honest * 3 + exploited + honest), window_steps=20)
    run(env, 100)
    report = env.report()
    assert report.onset_step == 61 and report.exploited
    onset = report.onset.counts
    assert onset.false_goals == 6 and stats.wilson_interval(6, 20)[0] > 0.05
    assert "EXPLOITATION from step 61" in str(report)


def test_no_onset_when_the_share_is_not_surely_above_the_limit():
    # 1 false goal in 40 learned successes: share 2.5%, lower bound far below 5%
    env = RewardAudit(ScriptedEnv([FALSE_GOAL] + [TRUE_GOAL] * 39), window_steps=40)
    run(env, 200)
    report = env.report()
    assert report.onset_step is None and not report.exploited
    assert report.counts.false_goals == 5 and "no onset of exploitation" in str(report)
    # the same share, but the limit is 1%: 5 false goals in 200 is surely above it only when the window holds them
    assert RewardAudit(ScriptedEnv([FALSE_GOAL] * 4 + [TRUE_GOAL] * 36), window_steps=40, max_share=0.01).onset_step is None


def test_min_false_goals_keeps_one_boundary_error_from_being_an_onset():
    script = [FALSE_GOAL, FALSE_GOAL] + [NOTHING] * 18  # 2 of 2 learned successes false
    default = RewardAudit(ScriptedEnv(script), window_steps=20)
    run(default, 20)
    assert stats.wilson_interval(2, 2)[0] > 0.05 and default.report().onset_step is None
    bare = RewardAudit(ScriptedEnv(script), window_steps=20, min_false_goals=1)
    run(bare, 20)
    assert bare.report().onset_step == 1


def test_the_onset_is_named_when_its_window_ends_and_the_last_partial_window_is_judged_by_report():
    env = RewardAudit(ScriptedEnv([FALSE_GOAL] * 5), window_steps=10)
    run(env, 9)
    assert env.onset_step is None  # the window is not over
    assert env.report().onset_step == 1  # but the report judges what it has
    tally = Tally(window_steps=3, min_false_goals=1)
    assert [tally.add(step, True, False) for step in (1, 2, 3)] == [False, False, True]


def test_dense_score_against_dense_truth():
    script = [(0.9, 0.1), (0.9, 0.95), (0.2, 0.99), (0.1, 0.0)]  # score, true reward
    env = RewardAudit(ScriptedEnv(script, probability=False), probability_key="is_goal", score_threshold=0.5,
                      truth_threshold=0.9, window_steps=4)
    run(env, 4)
    counts = env.report().counts
    assert (counts.learned, counts.true, counts.false_goals, counts.missed) == (2, 2, 1, 1)
    assert "info['is_goal'] >= 0.5 vs info['true_goal'] >= 0.9" == env.report().decision


def test_a_missing_key_names_what_the_env_has():
    env = RewardAudit(ScriptedEnv([TRUE_GOAL]), truth_key="success")
    env.reset(seed=0)
    with pytest.raises(AuditKeyError, match=r"no 'success' \(the truth\); it has \['goal_probability', 'is_goal', "
                                            r"'true_goal'\]: give the audit the env's key \(truth_key=...\)"):
        env.step(0)


def test_a_truth_that_is_not_a_bool_is_refused():
    env = RewardAudit(ScriptedEnv([(True, "no")]))
    env.reset(seed=0)
    with pytest.raises(TruthValueError, match="info\\['true_goal'\\] is 'no' of type str; the truth must be a bool"):
        env.step(0)


def test_the_wrapper_changes_nothing_the_trainer_sees():
    script = [NOTHING, FALSE_GOAL, TRUE_GOAL, MISSED]
    bare, audited = ScriptedEnv(script), RewardAudit(ScriptedEnv(script), min_false_goals=1, window_steps=2)
    assert bare.reset(seed=1)[0] == audited.reset(seed=1)[0]
    for _ in range(12):
        a, b = bare.step(0), audited.step(0)
        assert [np.asarray(x).tolist() for x in a[:4]] == [np.asarray(x).tolist() for x in b[:4]] and a[4] == b[4]
    assert audited.report().counts.false_goals == 3


def test_false_goals_kept_are_bounded_first_and_latest():
    keeper = FalseGoalKeeper(keep=4)
    for step in range(1, 11):
        keeper.add(KeptFalseGoal(step, 0, None, 0, 1, None, {}))
    assert keeper.seen == 10 and [case.step for case in keeper.cases] == [1, 2, 9, 10]
    assert FalseGoalKeeper(keep=0).cases == []
    with pytest.raises(ValueError, match="keep must be a whole number >= 0, got -1"):
        FalseGoalKeeper(keep=-1)


def test_saved_false_goals_hold_the_frames_steps_and_seed(tmp_path):
    script = [NOTHING, FALSE_GOAL, TRUE_GOAL, NOTHING, FALSE_GOAL]
    env = RewardAudit(ScriptedEnv(script), window_steps=10, keep=3)
    run(env, 25)
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "stale.txt").write_text("an earlier audit")
    report = env.save(tmp_path / "audit", picture=False)
    assert isinstance(report, AuditReport) and report.saved == tmp_path / "audit"
    assert not (tmp_path / "audit" / "stale.txt").exists()  # replaced as a whole
    arrays = load_false_goals(tmp_path / "audit")
    steps = [2, 22, 25]  # the first one (keep // 2) and the latest two of the 10 false goals
    assert arrays["step"].tolist() == steps and arrays["seed"].tolist() == [7, 7, 7]
    assert arrays["image"].shape == (3, 4, 4, 3) and arrays["image"][:, 0, 0, 0].tolist() == [s - 1 for s in steps]
    assert arrays["observation"].ravel().tolist() == [s - 1 for s in steps]
    assert arrays["goal_probability"].tolist() == [0.9, 0.9, 0.9]
    document = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert document["onset_step"] == report.onset_step == 1 and document["false_goals_seen"] == 10
    assert [row["step"] for row in document["false_goals_kept"]] == steps
    assert document["false_goals_kept"][0]["inputs"] == ["image", "observation"]
    assert len(document["windows"]) == 3 and document["counts"]["false_goals"] == 10


def test_the_picture_is_drawn(tmp_path):
    pytest.importorskip("matplotlib")
    env = RewardAudit(ScriptedEnv([NOTHING, FALSE_GOAL, TRUE_GOAL]), window_steps=6)
    run(env, 30)
    report = env.save(tmp_path / "audit")
    picture = tmp_path / "audit" / "audit.png"
    assert report.paths["picture"] == str(picture) and picture.read_bytes()[:4] == b"\x89PNG"
    assert f"picture: {picture}" in str(report)


def test_share_views_puts_the_false_goals_frames_in_its_info():
    env = RewardAudit(ScriptedEnv([NOTHING, FALSE_GOAL]), share_views=True)
    env.reset(seed=0)
    assert "reward_audit_views" not in env.step(0)[4]
    views = env.step(0)[4]["reward_audit_views"]
    assert views["image"][0, 0, 0] == 1 and views["observation"].tolist() == [1.0]


def test_importing_the_plugin_and_the_audit_stays_light():
    code = ("import sys, pytest_drlreward.plugin, pytest_drlreward.audit; "
            "bad = [m for m in ('torch', 'openvino', 'onnxruntime', 'pybullet', 'stable_baselines3', 'matplotlib', "
            "'panda_env') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
