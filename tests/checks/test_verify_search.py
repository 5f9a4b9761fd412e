"""The false-goal search, goal-seeking probes, the threshold sweep and the truth checks, on a foreign env
(``tests/downstream/point_env.py``: a point in the unit square, goal x, y > 0.8, 32x32 images) with two
hand-set classifiers exported by ``export_classifier``: the right one (0.8) and one that also calls the
band 0.7-0.8 a goal (wrong next to the goal: what an agent exploits)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from repo_paths import DOWNSTREAM

from pytest_drlreward.checks import FidelityError, assert_reward_fidelity, collect_rollout
from pytest_drlreward.checks.false_goals import find_false_goals, save_false_goals, seek_goals
from pytest_drlreward.checks.fidelity import collect_searches
from pytest_drlreward.checks.goalscore import goal_scores
from pytest_drlreward.checks.rollout import TruthValueError
from pytest_drlreward.checks.search_methods import available_method
from pytest_drlreward.checks.sweep import sweep_thresholds

sys.path.insert(0, str(DOWNSTREAM))
import point_env  # noqa: E402

BUDGET = 600  # env steps a search takes here


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    """{threshold: onnxruntime backend} for the right (0.8) and the 0.7-band classifier."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import point_model

    from pytest_drlreward import load_backend

    out = {}
    for threshold in (0.8, 0.7):
        directory = tmp_path_factory.mktemp("point") / f"model_{threshold}"
        point_model.export(directory, threshold)
        out[threshold] = load_backend("onnxruntime", directory, threads=1)
    return out


@pytest.fixture(scope="module")
def random_rollout():
    return collect_rollout(point_env.PointEnv(), 600, seed=0, truth_key="true_goal")


def test_the_classifiers_are_what_they_claim(classifiers):
    env = point_env.PlacedPointEnv()
    env.reset(seed=0)
    xs = np.linspace(0.5, 1.0, 251)
    images, truth = [], []
    for x in xs:
        truth.append(env.drl_place([x, 0.95])["true_goal"])
        images.append(env.camera_image())
    images, truth = np.stack(images), np.array(truth)
    assert np.array_equal(goal_scores(classifiers[0.8], images)[0], truth)
    wrong = xs[goal_scores(classifiers[0.7], images)[0] != truth]
    assert wrong.min() == pytest.approx(0.7, abs=0.005) and wrong.max() == pytest.approx(0.8, abs=0.005)


def test_random_rollouts_pass_the_wrong_classifier(classifiers, random_rollout):
    """The report of issue 23: random actions rarely reach the corner, so the 0.7-band classifier passes."""
    report = assert_reward_fidelity(random_rollout, classifiers[0.7], max_false_goal_rate=0.01, min_goals=0)
    assert report.passed and report.false_goal_rate.interval[0] <= 0.01


@pytest.mark.parametrize("placed", [False, True], ids=["actions", "drl_place hook"])
@pytest.mark.parametrize("max_rate", [0.005, 0.01])
def test_the_search_fails_the_wrong_classifier_and_passes_the_right_one(classifiers, random_rollout, max_rate, placed):
    env = point_env.PlacedPointEnv() if placed else point_env.PointEnv()
    for threshold, backend in classifiers.items():
        searches = collect_searches(env, backend, 2 * BUDGET, truth_key="true_goal")
        if threshold == 0.8:
            report = assert_reward_fidelity(random_rollout, backend, searches=searches, max_false_goal_rate=max_rate)
            assert report.search_false_goal_rate.successes == 0 and report.recall.trials >= 5
            continue
        with pytest.raises(FidelityError, match="found false goals at a rate") as excinfo:
            assert_reward_fidelity(random_rollout, backend, searches=searches, max_false_goal_rate=max_rate)
        report = excinfo.value.report
        assert report.search_false_goal_rate.interval[0] > max_rate
        assert "false goal at search probe" in str(excinfo.value) and "reset(seed=" in str(excinfo.value)
        # the false-goal search finds them on its own, not only the goal search passing by (a flipped
        # objective, steering to low goal probabilities, finds none)
        part = next(part for part in report.parts if part.name == "search for false goals")
        assert part.false_goal_rate.interval[0] > max_rate
        if placed:  # a probe a step: enough probes for the objective to steer, so it must concentrate on them
            goal_search = next(part for part in report.parts if part.name == "search for goals")
            assert part.false_goal_rate.value > max(0.5, goal_search.false_goal_rate.value)


def test_a_false_goal_is_reproducible_from_its_seed_and_actions(classifiers, tmp_path):
    search = find_false_goals(point_env.PointEnv(), classifiers[0.7], budget=BUDGET)
    assert search.false_goals and search.rate.successes == len(search.false_goals)
    probabilities = [case.probability for case in search.false_goals]
    assert probabilities == sorted(probabilities, reverse=True) and min(probabilities) >= 0.5
    case = search.false_goals[0]
    env = point_env.PointEnv()
    env.reset(seed=case.seed)
    for action in case.actions:
        *_, info = env.step(action)
    assert info["true_goal"] is False and np.array_equal(env.camera_image(), case.image)
    assert goal_scores(classifiers[0.7], case.image[None])[1][0] == pytest.approx(case.probability)
    saved = save_false_goals(search, tmp_path / "found", limit=3)
    summary = json.loads((saved / "false_goals.json").read_text())
    assert len(summary["cases"]) == 3 and summary["cases"][0]["seed"] == case.seed
    assert np.array_equal(np.load(saved / summary["cases"][0]["image"]), case.image)


def test_the_right_classifier_has_no_false_goals_to_find(classifiers):
    assert not find_false_goals(point_env.PointEnv(), classifiers[0.8], budget=BUDGET).false_goals


def test_goal_seeking_reaches_many_more_goals_than_random_actions(classifiers, random_rollout):
    states = seek_goals(point_env.PointEnv(), classifiers[0.8], budget=BUDGET)
    assert states.truth.sum() >= 10 * max(1, random_rollout.truth.sum())
    dense = seek_goals(point_env.PointEnv(), classifiers[0.8], budget=BUDGET, distance_key="goal_distance")
    assert dense.truth.sum() >= 5 > random_rollout.truth.sum()


def test_the_place_hook_is_used_when_the_env_has_one(classifiers):
    search = find_false_goals(point_env.PlacedPointEnv(), classifiers[0.7], budget=200)
    assert all(probe.state is not None and probe.actions is None for probe in search.states.probes)
    assert len(search.states.probes) == len(search.states) == 200 and search.false_goals
    case = search.false_goals[0]
    assert 0.69 < min(case.state) and max(case.state) < 1.0 and not all(v > 0.8 for v in case.state)
    assert "drl_place(" in case.where


def test_hypothesis_is_the_method_without_cmaes(classifiers, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cmaes" else real(name, *a))
    assert available_method("auto") == "hypothesis"
    with pytest.raises(ImportError, match="pytest-drlreward\\[search\\]"):
        available_method("cma")
    search = find_false_goals(point_env.PointEnv(), classifiers[0.7], budget=200)
    assert search.states.method == "hypothesis" and len(search.states) == 200


def test_missed_goals_are_ranked_by_how_confidently_they_were_missed(classifiers):
    """The 0.8 classifier judged against a truth of x, y > 0.7 misses the band; most confident misses first."""

    class WiderGoal(point_env.PointEnv):
        def _info(self):
            info = super()._info()
            info["true_goal"] = info["is_goal"] = bool(np.all(self._point > 0.7))
            return info

    searches = collect_searches(WiderGoal(), classifiers[0.8], 2 * BUDGET, truth_key="true_goal")
    rollout = collect_rollout(WiderGoal(), 300, seed=0, truth_key="true_goal")
    with pytest.raises(FidelityError, match="goal recall") as excinfo:
        assert_reward_fidelity(rollout, classifiers[0.8], searches=searches)
    missed = excinfo.value.report.missed_goals
    assert missed and all(case.truth for case in missed)
    assert [case.probability for case in missed] == sorted(case.probability for case in missed)  # 1 - p descending
    assert "missed goals (most confidently missed first)" in str(excinfo.value)


def test_a_truth_that_is_not_a_bool_or_0_1_is_an_error_naming_the_key_and_type():
    class SaysYes(point_env.PointEnv):
        def _info(self):
            return {**super()._info(), "true_goal": "no"}

    with pytest.raises(TruthValueError, match=r"info\['true_goal'\] is 'no' of type str"):
        collect_rollout(SaysYes(), 5, truth_key="true_goal")
    with pytest.raises(TruthValueError, match=r"info\['goal_distance'\] is .* of type float"):  # not 0/1
        collect_rollout(point_env.PointEnv(), 5, truth_key="goal_distance")
    assert collect_rollout(point_env.PointEnv(), 5, truth_key="true_goal").truth.dtype == bool


def test_a_dense_truth_is_a_number_for_a_dense_score_and_still_never_a_string():
    """A ``score`` rule is judged against a dense truth (e.g. a distance): floats are kept, strings still refused."""
    rollout = collect_rollout(point_env.PointEnv(), 5, truth_key="goal_distance", dense_truth=True)
    assert rollout.truth is None and rollout.truth_values.dtype == np.float64 and len(rollout.truth_values) == 5
    assert (rollout.truth_values > 0).all()

    class SaysNear(point_env.PointEnv):
        def _info(self):
            return {**super()._info(), "goal_distance": "near"}

    with pytest.raises(TruthValueError, match=r"info\['goal_distance'\] is 'near' of type str; a dense truth must be"):
        collect_rollout(SaysNear(), 5, truth_key="goal_distance", dense_truth=True)


# --------------------------------------------------------------------------- threshold sweep


def test_the_sweep_counts_and_names_the_one_threshold_meeting_both_targets():
    truth = np.array([True] * 300 + [False] * 3000)
    probabilities = np.concatenate([np.full(300, 0.97), np.full(2900, 0.01), np.full(100, 0.6)])
    report = sweep_thresholds(truth, probabilities, thresholds=(0.5, 0.9, 0.99), min_recall=0.9, max_false_goal_rate=0.005)
    rows = {row.threshold: row for row in report.rows}
    assert rows[0.5].false_goal_rate.successes == 100 and not rows[0.5].meets
    assert rows[0.9].recall.successes == 300 and rows[0.9].meets and rows[0.99].recall.successes == 0
    assert report.best == 0.9 and "threshold 0.9 meets" in report.table()[-1]
    worse = sweep_thresholds(truth, np.concatenate([np.full(300, 0.6), np.full(3000, 0.6)]), thresholds=(0.5, 0.9))
    assert worse.best is None and worse.verdict().endswith("none does")


def test_the_sweep_on_the_wrong_classifier_names_none_or_a_threshold_above_a_half(classifiers, random_rollout):
    backend = classifiers[0.7]
    parts = [random_rollout, *collect_searches(point_env.PointEnv(), backend, 2 * BUDGET, truth_key="true_goal")]
    truth = np.concatenate([part.truth for part in parts])
    probabilities = np.concatenate([goal_scores(backend, part.images)[1] for part in parts])
    report = sweep_thresholds(truth, probabilities)
    assert report.best is None or report.best > 0.5
    assert not {row.threshold: row for row in report.rows}[0.5].meets


def test_a_search_needs_a_bounded_box(classifiers):
    import gymnasium as gym

    from pytest_drlreward.checks.search import SearchSpaceError

    class Discrete(point_env.PointEnv):
        def __init__(self):
            super().__init__()
            self.action_space = gym.spaces.Discrete(4)

    with pytest.raises(SearchSpaceError, match="bounded Box action space"):
        find_false_goals(Discrete(), classifiers[0.7], budget=10)
    assert collect_searches(point_env.PointEnv(), classifiers[0.7], 0) == ()
