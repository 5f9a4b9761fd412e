"""Threshold sweep: recall and false-goal rate (95% Wilson intervals) at each threshold on the goal
probability, and the threshold the data supports for both targets at once.

A threshold ``t`` calls a state goal when its goal probability is at least ``t``. It meets the targets
when recall's whole interval is at or above ``min_recall`` and the false-goal rate's whole interval at
or below ``max_false_goal_rate``: the states seen then show it is good enough, not merely not bad.
The lowest such threshold is named (it keeps the most recall); "none does" otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pytest_drlreward.checks.stats import Proportion
from pytest_drlreward.defaults import DEFAULT_MAX_FALSE_GOAL_RATE, DEFAULT_MIN_RECALL

DEFAULT_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    recall: Proportion
    false_goal_rate: Proportion
    meets: bool


@dataclass(frozen=True)
class SweepReport:
    """One row per threshold; ``best`` the lowest threshold meeting both targets (None: none does)."""

    rows: tuple[SweepRow, ...]
    min_recall: float
    max_false_goal_rate: float
    states: str = ""

    @property
    def best(self) -> float | None:
        return next((row.threshold for row in self.rows if row.meets), None)

    def verdict(self) -> str:
        targets = f"recall >= {self.min_recall:g} and false-goal rate <= {100 * self.max_false_goal_rate:.3g}%"
        if self.best is None:
            return f"no threshold meets {targets} on these states (95% intervals): none does"
        return f"threshold {self.best:g} meets {targets} on these states (95% intervals)"

    def table(self) -> list[str]:
        """The ROC-style table: one line per threshold, then the verdict."""
        lines = [f"{'threshold':>9}  {'recall [95% interval] (k/n)':<34}  {'false goals [95% interval] (k/n)':<40}  meets"]
        for row in self.rows:
            lines.append(f"{row.threshold:>9g}  {row.recall.text():<34}  {row.false_goal_rate.text(percent=True):<40}  "
                         f"{'yes' if row.meets else 'no'}")
        if self.states:
            lines.append(f"states: {self.states}")
        lines.append(self.verdict())
        return lines


def sweep_thresholds(
    truth: np.ndarray,
    probabilities: np.ndarray,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    min_recall: float = DEFAULT_MIN_RECALL,
    max_false_goal_rate: float = DEFAULT_MAX_FALSE_GOAL_RATE,
    states: str = "",
) -> SweepReport:
    """Recall and false-goal rate of ``probabilities >= t`` against ``truth`` (bool) for each threshold ``t``."""
    truth, probabilities = np.asarray(truth, dtype=bool), np.asarray(probabilities, dtype=np.float64)
    if truth.shape != probabilities.shape:
        raise ValueError(f"{len(probabilities)} goal probabilities for {len(truth)} truth values")
    rows = []
    for threshold in sorted(float(t) for t in thresholds):
        goal = probabilities >= threshold
        recall = Proportion(int(np.sum(goal & truth)), int(np.sum(truth)))
        false = Proportion(int(np.sum(goal & ~truth)), int(np.sum(~truth)))
        meets = bool(recall.trials and false.trials and recall.interval[0] >= min_recall
                     and false.interval[1] <= max_false_goal_rate)
        rows.append(SweepRow(threshold, recall, false, meets))
    return SweepReport(tuple(rows), float(min_recall), float(max_false_goal_rate), states)


def plot_sweep(report: SweepReport, path: str | Path) -> Path | None:
    """Write the curve (recall and false-goal rate against the threshold, with intervals) as a PNG;
    None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib import pyplot as plt
    except ImportError:
        return None
    from pytest_drlreward.atomic import atomic_file

    t = [row.threshold for row in report.rows]
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, values, colour in (("recall", [r.recall for r in report.rows], "tab:blue"),
                                 ("false-goal rate", [r.false_goal_rate for r in report.rows], "tab:red")):
        value = [v.value for v in values]
        axis.plot(t, value, marker="o", color=colour, label=name)
        axis.fill_between(t, [v.interval[0] for v in values], [v.interval[1] for v in values], color=colour, alpha=0.2)
    axis.axhline(report.min_recall, color="tab:blue", linestyle=":")
    axis.axhline(report.max_false_goal_rate, color="tab:red", linestyle=":")
    if report.best is not None:
        axis.axvline(report.best, color="black", linestyle="--", label=f"threshold {report.best:g}")
    axis.set_xscale("logit")
    axis.set_xlabel("goal-probability threshold")
    axis.set_ylabel("share (95% Wilson interval)")
    axis.legend(loc="center left")
    axis.set_title(report.verdict(), fontsize=7)
    figure.tight_layout()
    path = Path(path)
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
    return path
