"""Reward fidelity: does the learned reward decide what the env's own truth says, on real rollouts?

The truth is an info key of the env (``true_goal`` for PandaHover); the learned decision is a
backend applied to each step's image, or an info key of an env whose reward is learned (``is_goal``).
Reported with 95% Wilson intervals: goal recall (goals the reward saw / goals reached), false-goal
rate (non-goal steps the reward called goal / non-goal steps) and agreement (right decisions / steps).

A threshold fails only when the whole interval is on the wrong side of it: the rollout then shows
the reward is worse than the threshold, not merely that a short rollout was unlucky. Too few goals
(``min_goals``) to judge recall is a failure too: lengthen the rollout or give a policy that
reaches the goal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, fmt
from pytest_drlreward.checks.decisions import MAX_CASES, decide
from pytest_drlreward.checks.finite import require_finite
from pytest_drlreward.checks.parity import DEFAULT_BATCH
from pytest_drlreward.checks.rollout import Rollout, RolloutError, collect_rollout
from pytest_drlreward.checks.stats import Proportion
from pytest_drlreward.defaults import DEFAULT_FIDELITY_STEPS as DEFAULT_STEPS
from pytest_drlreward.defaults import DEFAULT_MAX_FALSE_GOAL_RATE, DEFAULT_MIN_GOALS, DEFAULT_MIN_RECALL
from pytest_drlreward.policies import Policy


@dataclass(frozen=True)
class WorstCase:
    """One wrong decision: where it happened and how sure the reward was of the goal."""

    where: str
    truth: bool
    probability: float | None

    def __str__(self) -> str:
        kind = "missed goal" if self.truth else "false goal"
        probability = "" if self.probability is None else f": goal probability {self.probability:.3f}"
        return f"{kind} at {self.where}{probability}"


@dataclass(frozen=True)
class FidelityReport:
    """Recall, false-goal rate and agreement of one learned reward on one rollout, and the verdict."""

    decider: str
    rollout: str
    truth_key: str
    recall: Proportion
    false_goal_rate: Proportion
    agreement: Proportion
    min_recall: float
    max_false_goal_rate: float
    min_goals: int
    worst: tuple[WorstCase, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        return (f"{self.decider} vs {self.truth_key} on {self.rollout}: recall {self.recall.text()}, "
                f"false goals {self.false_goal_rate.text(percent=True)}, agreement {self.agreement.text(4)}")

    def details(self) -> str:
        """Several lines: the summary, the thresholds and the worst cases."""
        lines = [str(self), f"  thresholds: recall >= {fmt(self.min_recall)}, false-goal rate <= "
                            f"{100 * self.max_false_goal_rate:.3g}%, at least {self.min_goals} goals (95% Wilson intervals)"]
        lines += [f"  {case}" for case in self.worst]
        return "\n".join(lines)


class FidelityError(CheckError):
    """The learned reward disagrees with the env's truth beyond the thresholds; ``report`` has the numbers."""

    def __init__(self, report: FidelityReport) -> None:
        problems = "\n".join(f"  - {problem}" for problem in report.problems)
        super().__init__(f"reward fidelity fails:\n{problems}\n{report.details()}", report)


def _problems(recall: Proportion, false_goals: Proportion, min_recall: float, max_rate: float, min_goals: int,
              rollout: Rollout) -> list[str]:
    problems = []
    if recall.trials < min_goals:
        problems.append(f"the rollout reached the goal {recall.trials} times ({rollout.truth_key} true), fewer than "
                        f"{min_goals}: too few to judge recall; take more steps or a policy that reaches the goal")
    elif recall.interval[1] < min_recall:
        problems.append(f"goal recall {recall.text()} is below {fmt(min_recall)} (even the interval's upper end is)")
    if false_goals.trials and false_goals.interval[0] > max_rate:
        problems.append(f"false-goal rate {false_goals.text(percent=True)} is above {100 * max_rate:.3g}% "
                        f"(even the interval's lower end is)")
    return problems


def fidelity_report(
    rollout: Rollout,
    decisions: np.ndarray,
    probabilities: np.ndarray | None,
    decider: str,
    *,
    min_recall: float = DEFAULT_MIN_RECALL,
    max_false_goal_rate: float = DEFAULT_MAX_FALSE_GOAL_RATE,
    min_goals: int = DEFAULT_MIN_GOALS,
    worst: int = MAX_CASES,
) -> FidelityReport:
    """Compare ``decisions`` (bool, one per rollout step) with the rollout's truth; no assertion."""
    if rollout.truth is None:
        what = f"the env reports no {rollout.truth_key!r} in its step info" if rollout.truth_key else "the rollout kept no truth"
        raise RolloutError(f"{what}: nothing to compare the reward with")
    truth, decisions = rollout.truth, np.asarray(decisions, dtype=bool)
    if decisions.shape != truth.shape:
        raise ValueError(f"{len(decisions)} decisions for a rollout of {len(truth)} steps")
    recall = Proportion(int(np.sum(decisions & truth)), int(np.sum(truth)))
    false_goals = Proportion(int(np.sum(decisions & ~truth)), int(np.sum(~truth)))
    agreement = Proportion(int(np.sum(decisions == truth)), len(truth))
    wrong = np.flatnonzero(decisions != truth)
    if probabilities is not None:  # most confident mistakes first
        confidence = np.where(truth[wrong], -probabilities[wrong], probabilities[wrong])
        wrong = wrong[np.argsort(-confidence, kind="stable")]
    cases = tuple(WorstCase(rollout.where(int(i)), bool(truth[i]),
                            None if probabilities is None else float(probabilities[i])) for i in wrong[:worst])
    return FidelityReport(decider, rollout.describe(), rollout.truth_key, recall, false_goals, agreement,
                          float(min_recall), float(max_false_goal_rate), int(min_goals), cases,
                          tuple(_problems(recall, false_goals, min_recall, max_false_goal_rate, min_goals, rollout)))


def assert_reward_fidelity(
    env_or_rollout: Any,
    backend: Any = None,
    *,
    n_steps: int = DEFAULT_STEPS,
    seed: int = 0,
    policy: Policy | None = None,
    truth_key: str = "true_goal",
    decision_key: str = "is_goal",
    probability_key: str | None = "goal_probability",
    min_recall: float = DEFAULT_MIN_RECALL,
    max_false_goal_rate: float = DEFAULT_MAX_FALSE_GOAL_RATE,
    min_goals: int = DEFAULT_MIN_GOALS,
    batch_size: int | None = DEFAULT_BATCH,
) -> FidelityReport:
    """Assert a learned reward agrees with the env's truth on a rollout; return the :class:`FidelityReport`.

    ``env_or_rollout``: an env, stepped ``n_steps`` times from ``reset(seed=seed)`` by ``policy``
    (default: seeded random actions), or a :class:`Rollout` already collected. The learned decision
    is ``backend`` applied to each step's image when a backend is given, else ``info[decision_key]``
    (an env whose reward is learned). The truth is ``info[truth_key]``. Raises :class:`FidelityError`
    when recall's interval lies below ``min_recall``, the false-goal rate's above
    ``max_false_goal_rate``, or fewer than ``min_goals`` goals were reached.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    if isinstance(env_or_rollout, Rollout):
        rollout = env_or_rollout
    else:
        rollout = collect_rollout(env_or_rollout, n_steps, seed=seed, policy=policy, truth_key=truth_key,
                                  decision_key=None if backend is not None else decision_key,
                                  probability_key=None if backend is not None else probability_key,
                                  images=backend is not None)
    if backend is not None:
        if rollout.images is None:
            raise RolloutError("the rollout kept no images, so a backend cannot be judged on it")
        decided = decide(backend, rollout.images, batch_size)
        decisions, probabilities, decider = decided.goal, decided.probability, decided.backend
    else:
        if rollout.decisions is None:
            raise RolloutError(f"no backend given and the env reports no {decision_key!r} in its step info")
        decisions, probabilities, decider = rollout.decisions, rollout.probabilities, f"info[{decision_key!r}]"
        if probabilities is not None:
            require_finite(probabilities, f"the env's info[{probability_key!r}]", unit="goal probabilities")
    report = fidelity_report(rollout, decisions, probabilities, decider, min_recall=min_recall,
                             max_false_goal_rate=max_false_goal_rate, min_goals=min_goals)
    if not report.passed:
        raise FidelityError(report)
    return report
