"""The audit against a real optimiser (slow): SB3's SAC with default settings on the downstream point env
rewarded by a classifier that also calls the band 0.7-0.8 a goal names an onset on two seeds within 4000
steps, and the false goals it saved replay as false goals; with the right classifier there is no onset."""

from __future__ import annotations

import time

import numpy as np
import pytest
from audit_envs import LearnedPointEnv, point_classifier, point_env

from pytest_drlreward.audit import RewardAudit, load_false_goals
from pytest_drlreward.checks.goalscore import goal_scores

STEPS = 4000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    """{threshold: onnxruntime backend}: the right classifier (0.8) and the one wrong in a band (0.7)."""
    for module in ("torch", "onnxruntime", "stable_baselines3"):
        pytest.importorskip(module)
    base = tmp_path_factory.mktemp("point")
    return {threshold: point_classifier(base / f"model_{threshold}", threshold) for threshold in (0.8, 0.7)}


def train(backend, seed: int, out):
    """SAC (SB3 defaults) for STEPS steps on the point env rewarded by ``backend``, audited by the wrapper and
    by the callback; both reports and the training time."""
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.monitor import Monitor

    from pytest_drlreward.audit import RewardAuditCallback

    torch.set_num_threads(1)
    audited = RewardAudit(LearnedPointEnv(backend), share_views=True)
    agent = SAC("MlpPolicy", Monitor(audited), seed=seed, verbose=0)
    callback = RewardAuditCallback(save_dir=out)
    start = time.perf_counter()
    agent.learn(STEPS, callback=callback)
    return audited.report(), callback.report(), time.perf_counter() - start


def replays_as_false_goal(backend, arrays) -> list[bool]:
    """Each saved false goal: the classifier calls its saved image goal, and the point placed at its saved
    observation is not a true goal."""
    env = point_env.PlacedPointEnv()
    env.reset(seed=0)
    called_goal = goal_scores(backend, arrays["image"])[0]
    truth = [env.drl_place(obs.astype(np.float64))["true_goal"] for obs in arrays["observation"]]
    return [bool(goal) and not true for goal, true in zip(called_goal, truth)]


@pytest.mark.parametrize("seed", [0, 1])
def test_sac_exploits_the_band_and_the_audit_names_the_onset(classifiers, seed, tmp_path, record_property):
    by_wrapper, report, seconds = train(classifiers[0.7], seed, tmp_path)
    record_property("summary", f"point env, 0.7-band classifier, SAC seed {seed}, {STEPS} steps in {seconds:.0f} s: "
                               + " / ".join(report.lines()[:2]))
    assert report.onset_step is not None and report.onset_step <= STEPS, str(report)
    assert by_wrapper.onset_step == report.onset_step and by_wrapper.counts == report.counts
    arrays = load_false_goals(tmp_path / "audit")
    assert len(arrays["step"]) == report.false_goals_kept > 0
    assert all(replays_as_false_goal(classifiers[0.7], arrays))
    assert not goal_scores(classifiers[0.8], arrays["image"])[0].any()  # the right classifier says no goal


@pytest.mark.parametrize("seed", [0])
def test_with_the_right_classifier_there_is_no_onset(classifiers, seed, tmp_path, record_property):
    _, report, seconds = train(classifiers[0.8], seed, tmp_path)
    record_property("summary", f"point env, right classifier, SAC seed {seed}, {STEPS} steps in {seconds:.0f} s: "
                               + " / ".join(report.lines()[:2]))
    assert report.onset_step is None and report.counts.false_goals == 0, str(report)
    assert report.counts.true_episodes > 0  # it did learn to reach the goal
