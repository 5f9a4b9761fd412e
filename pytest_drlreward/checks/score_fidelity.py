"""Fidelity of a dense learned reward (a ``score`` rule): the score against the env's true reward.

What must agree for a dense reward is the value: reported as the Pearson correlation of the learned
score with ``info[truth_key]`` over the rollout's steps and the mean absolute error between them.
A score with a ``decision.threshold`` is also judged as a goal decision (by ``assert_reward_fidelity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, fmt


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

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
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
        return (f"{self.decider} score vs {self.truth_key} on {self.n} steps: correlation {self.correlation:.3f}, "
                f"mean abs error {self.mean_abs_error:.3g}")


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


def score_fidelity_of(rollout: Any, decided: Any, min_correlation: float, max_mean_abs_error: float | None) -> Any:
    """:func:`score_fidelity` of a backend's decided scores on a rollout against its dense truth."""
    from pytest_drlreward.checks.rollout import RolloutError

    if rollout.truth_values is None:
        raise RolloutError(f"the env reports no numeric {rollout.truth_key!r} in its step info: nothing to compare "
                           f"the dense reward with")
    return score_fidelity(decided.probability, rollout.truth_values, decided.backend, str(rollout.truth_key),
                          min_correlation=min_correlation, max_mean_abs_error=max_mean_abs_error)
