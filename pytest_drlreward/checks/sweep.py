"""Threshold sweep: recall and false-goal rate (95% Wilson intervals) at each threshold on the goal
probability, the thresholds the data supports for both targets at once, the one recommended, and
what would fix a classifier that no threshold saves.

A threshold ``t`` calls a state goal when its goal probability is above ``t`` (``>``, as the decision
rule). It **meets** the targets when recall's whole interval is at or above ``min_recall`` and the
false-goal rate's whole interval at or below ``max_false_goal_rate``: the states seen then show it is
good enough, not merely not bad.

The **margin** of a threshold that meets both targets is the share of its allowance the tighter target
has left: ``min((recall_low - min_recall) / (1 - min_recall), (max_rate - false_high) / max_rate)``,
where ``recall_low`` is the lower end of recall's interval and ``false_high`` the upper end of the
false-goal rate's. The **recommended** threshold is the one with the widest margin (the safest against
both a drop in recall and a rise in false goals); among equal margins, the middle one (the lower of the
two middle ones for an even count). With none meeting both, the advice names the lowest threshold that
keeps false goals under the limit and its recall, or, when none does, says to retrain on the saved
false goals.
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
    margin: float | None = None  # None where the row does not meet both targets


def _margin(recall: Proportion, false: Proportion, min_recall: float, max_rate: float) -> float:
    recall_slack = (recall.interval[0] - min_recall) / (1.0 - min_recall) if min_recall < 1.0 else 0.0
    false_slack = (max_rate - false.interval[1]) / max_rate if max_rate > 0.0 else 0.0
    return float(min(recall_slack, false_slack))


@dataclass(frozen=True)
class SweepReport:
    """One row per threshold (ascending); ``passing`` the thresholds meeting both targets, ``recommended``
    the one with the widest margin (``best`` is the same), ``lowest``/``highest`` the passing range's ends."""

    rows: tuple[SweepRow, ...]
    min_recall: float
    max_false_goal_rate: float
    states: str = ""

    @property
    def passing(self) -> tuple[SweepRow, ...]:
        return tuple(row for row in self.rows if row.meets)

    @property
    def lowest(self) -> float | None:
        return self.passing[0].threshold if self.passing else None

    @property
    def highest(self) -> float | None:
        return self.passing[-1].threshold if self.passing else None

    @property
    def recommended(self) -> SweepRow | None:
        """The passing row with the widest margin; among ties the middle one (the lower middle for an even count)."""
        if not self.passing:
            return None
        widest = max(row.margin for row in self.passing)
        tied = [row for row in self.passing if row.margin == widest]
        return tied[(len(tied) - 1) // 2]

    @property
    def best(self) -> float | None:
        """The recommended threshold (None: none meets both targets)."""
        row = self.recommended
        return None if row is None else row.threshold

    def _targets(self) -> str:
        return f"recall >= {self.min_recall:g} and false-goal rate <= {100 * self.max_false_goal_rate:.3g}%"

    def verdict(self) -> str:
        row = self.recommended
        if row is None:
            return f"no threshold meets {self._targets()} on these states (95% intervals): none does"
        span = f"threshold {row.threshold:g}" if self.lowest == self.highest else \
            f"thresholds {self.lowest:g} to {self.highest:g} ({len(self.passing)} of {len(self.rows)})"
        return (f"{span} {'meets' if len(self.passing) == 1 else 'meet'} {self._targets()} on these states "
                f"(95% intervals); recommended {row.threshold:g}, the widest margin ({100 * row.margin:.0f}% of the "
                f"tighter target's allowance left)")

    def advice(self, saved: str | None = None) -> str:
        """What would fix a classifier no threshold saves ("" when one does): the lowest threshold keeping false
        goals under the limit and its recall, or retraining on the saved false goals (``saved``: where they are)."""
        if self.passing:
            return ""
        where = f" ({saved})" if saved else ""
        limit = self.max_false_goal_rate
        safe = next((row for row in self.rows if row.false_goal_rate.trials and row.false_goal_rate.interval[1] <= limit), None)
        if safe is None:
            return (f"to fix: no threshold keeps the false-goal rate under {100 * limit:.3g}%; retrain the classifier with "
                    f"the saved false goals{where} as non-goal examples")
        if not safe.recall.trials:
            return (f"to fix: threshold {safe.threshold:g} keeps false goals under {100 * limit:.3g}%, but no goal state was "
                    f"seen to judge its recall; reach more goals (drl_search_steps, a policy), or retrain with the saved "
                    f"false goals{where} as non-goal examples")
        return (f"to fix: threshold {safe.threshold:g} keeps false goals under {100 * limit:.3g}% but its recall is "
                f"{safe.recall.text()} (below {self.min_recall:g}): retrain the classifier with the saved false "
                f"goals{where} as non-goal examples, or accept that recall")

    def table(self) -> list[str]:
        """The ROC-style table: one line per threshold (margin where it meets both), the verdict, the advice."""
        lines = [f"{'threshold':>9}  {'recall [95% interval] (k/n)':<34}  {'false goals [95% interval] (k/n)':<40}  "
                 f"meets  margin"]
        for row in self.rows:
            margin = f"{100 * row.margin:.0f}%" if row.margin is not None else "-"
            lines.append(f"{row.threshold:>9g}  {row.recall.text():<34}  {row.false_goal_rate.text(percent=True):<40}  "
                         f"{'yes' if row.meets else 'no':<5}  {margin}")
        if self.states:
            lines.append(f"states: {self.states}")
        lines.append(self.verdict())
        if self.advice():
            lines.append(self.advice())
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
    """Recall and false-goal rate of ``probabilities > t`` against ``truth`` (bool) for each threshold ``t``."""
    truth, probabilities = np.asarray(truth, dtype=bool), np.asarray(probabilities, dtype=np.float64)
    if truth.shape != probabilities.shape:
        raise ValueError(f"{len(probabilities)} goal probabilities for {len(truth)} truth values")
    rows = []
    for threshold in sorted(float(t) for t in thresholds):
        goal = probabilities > threshold
        recall = Proportion(int(np.sum(goal & truth)), int(np.sum(truth)))
        false = Proportion(int(np.sum(goal & ~truth)), int(np.sum(~truth)))
        meets = bool(recall.trials and false.trials and recall.interval[0] >= min_recall
                     and false.interval[1] <= max_false_goal_rate)
        margin = _margin(recall, false, min_recall, max_false_goal_rate) if meets else None
        rows.append(SweepRow(threshold, recall, false, meets, margin))
    return SweepReport(tuple(rows), float(min_recall), float(max_false_goal_rate), states)


def sweep_figure(report: SweepReport) -> object:
    """The matplotlib figure of :func:`plot_sweep` (its first axis recall, its twin the false-goal rate in %)."""
    from matplotlib import pyplot as plt
    from matplotlib.ticker import NullFormatter

    t = [row.threshold for row in report.rows]
    figure, left = plt.subplots(figsize=(7, 4.2))
    right = left.twinx()
    for axis, name, values, colour, scale in ((left, "recall", [r.recall for r in report.rows], "tab:blue", 1.0),
                                             (right, "false-goal rate (right axis, %)",
                                              [r.false_goal_rate for r in report.rows], "tab:red", 100.0)):
        axis.plot(t, [scale * v.value for v in values], marker="o", color=colour, label=name)
        axis.fill_between(t, [scale * v.interval[0] for v in values], [scale * v.interval[1] for v in values],
                          color=colour, alpha=0.2)
    left.axhline(report.min_recall, color="tab:blue", linestyle=":", label=f"least recall {report.min_recall:g}")
    limit = 100 * report.max_false_goal_rate
    right.axhline(limit, color="tab:red", linestyle="--", label=f"false-goal limit {limit:.3g}%")
    highs = [100 * r.false_goal_rate.interval[1] for r in report.rows if r.false_goal_rate.trials]
    right.set_ylim(0.0, 1.15 * max([3 * limit, *highs]))  # the rate's own scale: 2% against 0.5% is plain
    if report.passing:
        left.axvspan(report.lowest, report.highest, color="tab:green", alpha=0.1, label="meets both targets")
        best = report.recommended
        left.axvline(best.threshold, color="black", linestyle="--", label=f"recommended {best.threshold:g}")
        left.plot([best.threshold], [best.recall.value], marker="*", markersize=14, color="black")
    left.set_xscale("logit")
    left.set_xticks(t, [f"{x:g}" for x in t], rotation=45, fontsize=7)
    left.xaxis.set_minor_formatter(NullFormatter())
    left.set_ylim(0.0, 1.05)
    left.set_xlabel("goal-probability threshold (goal when p > threshold)")
    left.set_ylabel("recall (95% Wilson interval)", color="tab:blue")
    right.set_ylabel("false-goal rate, % (95% Wilson interval)", color="tab:red")
    handles = [h for axis in (left, right) for h in axis.get_legend_handles_labels()[0]]
    left.legend(handles, [h.get_label() for h in handles], loc="center left", fontsize=7)
    left.set_title(report.verdict() + ("\n" + report.advice() if report.advice() else ""), fontsize=7, wrap=True)
    figure.tight_layout()
    return figure


def plot_sweep(report: SweepReport, path: str | Path) -> Path | None:
    """Write the curve as a PNG: recall on the left axis (0 to 1), the false-goal rate on its own right axis
    (scaled to the limit and the data, so 2% against a 0.5% limit is plain), both with their intervals, the
    limit and the least recall drawn, the passing range shaded and the recommended threshold marked; None
    when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib import pyplot as plt
    except ImportError:
        return None
    from pytest_drlreward.util.atomic import atomic_file

    figure = sweep_figure(report)
    path = Path(path)
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
    return path
