"""The threshold sweep advises (issue 27, item 7): the range of thresholds meeting both targets, the one
recommended by its documented rule (the widest margin, the middle of ties), what would fix a classifier
no threshold saves, and a PNG whose false-goal rate has its own readable axis."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_drlreward.checks.stats import Proportion
from pytest_drlreward.checks.sweep import sweep_thresholds

TRUTH = np.array([True] * 300 + [False] * 3000)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _several_passing():
    """Six thresholds pass: 0.4 and 0.5 with 5 false goals left, 0.6 with 1, 0.7 with none and full recall,
    0.8 and 0.9 with none but 15 goals missed. Lowest 0.4, highest 0.9, widest margin 0.7."""
    probabilities = np.concatenate([np.full(285, 0.97), np.full(15, 0.75),  # goals
                                    np.full(2989, 0.01), np.full(6, 0.35), np.full(4, 0.55), [0.65]])  # non-goals
    return sweep_thresholds(TRUTH, probabilities, thresholds=THRESHOLDS, min_recall=0.9, max_false_goal_rate=0.005)


def test_the_recommendation_is_the_widest_margin_not_the_lowest_or_highest_passing_threshold():
    report = _several_passing()
    assert [row.threshold for row in report.passing] == [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert (report.lowest, report.highest) == (0.4, 0.9)
    assert report.best == report.recommended.threshold == 0.7
    for row in report.passing:  # the documented margin: the tighter target's share of its allowance left
        expected = min((row.recall.interval[0] - 0.9) / 0.1, (0.005 - row.false_goal_rate.interval[1]) / 0.005)
        assert row.margin == pytest.approx(expected)
    margins = {row.threshold: row.margin for row in report.passing}
    assert margins[0.7] > margins[0.6] > margins[0.4] == margins[0.5] > margins[0.8] == margins[0.9] > 0
    assert all(row.margin is None for row in report.rows if not row.meets)
    verdict = report.verdict()
    assert "thresholds 0.4 to 0.9 (6 of 7) meet" in verdict and "recommended 0.7" in verdict
    assert report.table()[-1] == verdict and report.advice() == ""


def test_equal_margins_recommend_the_middle_one():
    """Three thresholds with the same counts (so the same margin): the middle one; with two, the lower."""
    probabilities = np.concatenate([np.full(300, 0.97), np.full(3000, 0.01)])
    report = sweep_thresholds(TRUTH, probabilities, thresholds=(0.3, 0.5, 0.7), min_recall=0.9)
    assert len({row.margin for row in report.passing}) == 1 and report.best == 0.5
    assert sweep_thresholds(TRUTH, probabilities, thresholds=(0.3, 0.5, 0.7, 0.9), min_recall=0.9).best == 0.5


def test_a_value_exactly_at_a_threshold_is_not_called_goal_as_in_the_decision_rule():
    report = sweep_thresholds(np.array([True, False]), np.array([0.5, 0.25]), thresholds=(0.25, 0.5), min_recall=0.0,
                              max_false_goal_rate=1.0)
    rows = {row.threshold: row for row in report.rows}
    assert rows[0.25].recall == Proportion(1, 1) and rows[0.25].false_goal_rate == Proportion(0, 1)
    assert rows[0.5].recall == Proportion(0, 1)


def test_a_classifier_a_higher_threshold_saves_is_told_that_threshold_and_its_recall():
    """False goals at 0.6: no threshold passes (0.9 loses a third of the goals), and the advice names 0.9 with its
    recall and says to retrain on the saved false goals."""
    probabilities = np.concatenate([np.full(200, 0.97), np.full(100, 0.3), np.full(2900, 0.01), np.full(100, 0.6)])
    report = sweep_thresholds(TRUTH, probabilities, thresholds=(0.5, 0.9), min_recall=0.9)
    assert report.best is None and report.verdict().endswith("none does")
    advice = report.advice("drl_false_goals_onnxruntime")
    assert "threshold 0.9 keeps false goals under 0.5%" in advice and "0.667 [0.612, 0.718] (200/300)" in advice
    assert "retrain the classifier with the saved false goals (drl_false_goals_onnxruntime)" in advice
    assert report.table()[-1] == report.advice()


def test_a_classifier_no_threshold_saves_is_told_to_retrain():
    probabilities = np.concatenate([np.full(300, 0.97), np.full(2900, 0.01), np.full(100, 0.999)])
    report = sweep_thresholds(TRUTH, probabilities, thresholds=(0.5, 0.9, 0.99), min_recall=0.9)
    assert report.advice().startswith("to fix: no threshold keeps the false-goal rate under 0.5%; retrain")


def test_the_png_gives_the_false_goal_rate_its_own_axis_with_the_limit_and_marks_the_recommendation(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib import pyplot as plt

    from pytest_drlreward.checks.sweep import plot_sweep, sweep_figure

    report = _several_passing()
    figure = sweep_figure(report)
    try:
        left, right = figure.axes
        assert left.get_ylim()[1] == pytest.approx(1.05)
        top = right.get_ylim()[1]
        assert 3 * 0.5 <= top < 10  # percent: a 0.5% limit and rates under 0.7% fill the axis, not 1% of it
        assert any(list(line.get_ydata()) == [0.5, 0.5] for line in right.get_lines())  # the limit, in %
        assert any(list(line.get_xdata()) == [0.7, 0.7] for line in left.get_lines())  # the recommendation
    finally:
        plt.close(figure)
    failing = sweep_thresholds(TRUTH, np.concatenate([np.full(300, 0.97), np.full(2940, 0.01), np.full(60, 0.6)]),
                               thresholds=(0.5, 0.9), min_recall=0.9)
    figure = sweep_figure(failing)
    try:
        assert figure.axes[1].get_ylim()[1] == pytest.approx(1.15 * 100 * failing.rows[0].false_goal_rate.interval[1])
    finally:
        plt.close(figure)
    assert plot_sweep(report, tmp_path / "sweep.png").stat().st_size > 1000
