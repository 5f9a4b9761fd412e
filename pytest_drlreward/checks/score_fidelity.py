"""Fidelity of a dense learned reward (a ``score`` rule): the score against the env's true reward.

What must agree for a dense reward is the value: reported as the Pearson correlation of the learned
score with ``info[truth_key]`` over the rollout's steps and the mean absolute error between them.
A score with a ``decision.threshold`` is also judged as a goal decision (by ``assert_reward_fidelity``).

False goals of a dense score (what an agent maximising it finds), judged on searched states:

- the truth is *low* at a state when ``info[truth_key]`` is at most the rollout's median (a 0/1
  truth: when it is false);
- the score is *high* when it exceeds the **score level**: the median score over the states whose
  truth is at or above the 90th percentile of all truth values seen (a 0/1 truth: the goal states),
  i.e. what the learned reward pays where the truth is best;
- a false goal is a high score where the truth is low; their share among the searched low-truth
  states fails like the false-goal rate, when its whole 95% interval is above ``max_false_goal_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, fmt
from pytest_drlreward.checks.stats import Proportion

GOAL_QUANTILE = 0.9  # the truth's best states: at or above this quantile of the truth values seen


@dataclass(frozen=True)
class ScoreFidelityReport:
    """Correlation and mean absolute error of a learned score against the truth on ``n`` steps."""

    decider: str
    truth_key: str
    n: int
    correlation: float
    mean_abs_error: float
    min_correlation: float
    max_mean_abs_error: float | None
    search_false_goals: Proportion | None = None  # high score, low truth, among the searched low-truth states
    score_level: float | None = None
    max_false_goal_rate: float = 1.0

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        rate = self.search_false_goals
        if rate is not None and rate.trials and rate.interval[0] > self.max_false_goal_rate:
            found.append(f"the search found states scored above {self.score_level:.4g} (what the score pays where the truth "
                         f"is best) while the truth is low, at a rate of {rate.text(percent=True)}, above "
                         f"{100 * self.max_false_goal_rate:.3g}% (even the interval's lower end is): an agent would find them too")
        if not self.correlation >= self.min_correlation:  # NaN (a constant score) fails too
            found.append(f"correlation {self.correlation:.3f} of the score with {self.truth_key!r} is below "
                         f"{fmt(self.min_correlation)}")
        if self.max_mean_abs_error is not None and not self.mean_abs_error <= self.max_mean_abs_error:
            found.append(f"mean |score - {self.truth_key}| {self.mean_abs_error:.3g} is above {fmt(self.max_mean_abs_error)}")
        return tuple(found)

    @property
    def passed(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        search = ("" if self.search_false_goals is None else
                  f", search's false goals (score > {self.score_level:.4g}, truth low) "
                  f"{self.search_false_goals.text(percent=True)}")
        return (f"{self.decider} score vs {self.truth_key} on {self.n} steps: correlation {self.correlation:.3f}, "
                f"mean abs error {self.mean_abs_error:.3g}{search}")


class ScoreFidelityError(CheckError):
    """A dense learned reward does not follow the env's true reward; ``report`` has the numbers."""


def score_fidelity(scores: np.ndarray, truth: np.ndarray, decider: str, truth_key: str, *,
                   min_correlation: float = 0.5, max_mean_abs_error: float | None = None) -> ScoreFidelityReport:
    """Compare scores with the truth values step by step; raise :class:`ScoreFidelityError` on a problem."""
    __tracebackhide__ = True
    scores, truth = np.asarray(scores, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if scores.shape != truth.shape:
        raise ValueError(f"{len(scores)} scores for {len(truth)} truth values")
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = float(np.corrcoef(scores, truth)[0, 1]) if len(scores) > 1 else float("nan")
    report = ScoreFidelityReport(decider, truth_key, len(scores), correlation, float(np.mean(np.abs(scores - truth))),
                                 float(min_correlation), max_mean_abs_error)
    if not report.passed:
        raise ScoreFidelityError("dense reward fidelity fails:\n" + "\n".join(f"  - {p}" for p in report.problems)
                                 + f"\n{report}", report)
    return report


def score_level(values: np.ndarray, scores: np.ndarray, truth: np.ndarray | None = None) -> float:
    """What the score pays where the truth is best: the median score over the goal states (``truth``) or,
    for a dense truth, over the states whose value is at or above the truth's 90th percentile."""
    top = truth if truth is not None and np.any(truth) else values >= np.quantile(values, GOAL_QUANTILE)
    return float(np.median(scores[top]))


def dense_false_goals(parts: Sequence[tuple[Any, np.ndarray]], searches: Sequence[tuple[Any, np.ndarray]],
                      ) -> tuple[float, Proportion, np.ndarray]:
    """``(score level, false goals among the searched low-truth states, their mask per searched state)``.

    ``parts``: every ``(states, scores)`` seen (rollout and searches) to set the score level; ``searches``:
    the searched ``(states, scores)`` judged; a state's truth is low where ``states.truth`` is false (a search
    cuts a dense truth at its ``truth_below``)."""
    values = np.concatenate([np.asarray(states.truth_values, dtype=np.float64) for states, _ in parts])
    scores = np.concatenate([np.asarray(score, dtype=np.float64) for _, score in parts])
    binary = parts[0][0].truth is not None  # the first part (the rollout) keeps a truth only when it is 0/1
    level = score_level(values, scores, values > 0.5 if binary else None)
    low = np.concatenate([~np.asarray(states.truth, dtype=bool) for states, _ in searches]) if searches else np.zeros(0, bool)
    high = np.concatenate([np.asarray(score) > level for _, score in searches]) if searches else np.zeros(0, bool)
    return level, Proportion(int(np.sum(high & low)), int(np.sum(low))), high & low


def score_fidelity_of(rollout: Any, decided: Any, min_correlation: float, max_mean_abs_error: float | None,
                      searches: Sequence[tuple[Any, np.ndarray]] = (), max_false_goal_rate: float = 1.0) -> Any:
    """:func:`score_fidelity` of a backend's decided scores on a rollout against its dense truth; with
    ``searches`` (``(states, scores)`` of searched states) their false goals are judged too."""
    from pytest_drlreward.checks.rollout import RolloutError

    if rollout.truth_values is None:
        raise RolloutError(f"the env reports no {rollout.truth_key!r} in its step info: nothing to compare "
                           f"the dense reward with")
    report = score_fidelity(decided.probability, rollout.truth_values, decided.backend, str(rollout.truth_key),
                            min_correlation=min_correlation, max_mean_abs_error=max_mean_abs_error)
    if not searches:
        return report
    level, rate, _ = dense_false_goals([(rollout, decided.probability), *searches], searches)
    report = replace(report, search_false_goals=rate, score_level=level, max_false_goal_rate=float(max_false_goal_rate))
    if not report.passed:
        raise ScoreFidelityError("dense reward fidelity fails:\n" + "\n".join(f"  - {p}" for p in report.problems)
                                 + f"\n{report}", report)
    return report
