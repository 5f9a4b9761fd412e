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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, fmt
from pytest_drlreward.checks.decisions import MAX_CASES, decide
from pytest_drlreward.checks.false_goals import collect_searches
from pytest_drlreward.checks.finite import require_finite
from pytest_drlreward.checks.goalscore import goal_scores
from pytest_drlreward.checks.parity import DEFAULT_BATCH
from pytest_drlreward.checks.rollout import Rollout, RolloutError, collect_rollout
from pytest_drlreward.checks.score_fidelity import score_fidelity_of
from pytest_drlreward.checks.stats import Proportion
from pytest_drlreward.classifier.decision import rule_of
from pytest_drlreward.defaults import DEFAULT_FIDELITY_STEPS as DEFAULT_STEPS
from pytest_drlreward.defaults import DEFAULT_MAX_FALSE_GOAL_RATE, DEFAULT_MIN_GOALS, DEFAULT_MIN_RECALL
from pytest_drlreward.env.policies import Policy


@dataclass(frozen=True)
class WorstCase:
    """One wrong decision: where it happened and how sure the reward was of the goal."""

    where: str
    truth: bool
    probability: float | None

    @property
    def confidence(self) -> float:
        """How confidently the reward was wrong: ``p`` for a false goal, ``1 - p`` for a missed goal."""
        if self.probability is None:
            return 0.0
        return 1.0 - self.probability if self.truth else self.probability

    def __str__(self) -> str:
        kind = "missed goal" if self.truth else "false goal"
        probability = "" if self.probability is None else f": goal probability {self.probability:.3f}"
        return f"{kind} at {self.where}{probability}"


@dataclass(frozen=True)
class PartReport:
    """What one source of states (the rollout, the false-goal search, the goal search) showed."""

    name: str
    states: str
    recall: Proportion
    false_goal_rate: Proportion

    def __str__(self) -> str:
        return (f"{self.name} ({self.states}): {self.false_goal_rate.successes} false goals in "
                f"{self.false_goal_rate.trials} non-goal states ({self.false_goal_rate.text(percent=True)}), "
                f"{self.recall.successes} of {self.recall.trials} goal states recognised")


@dataclass(frozen=True)
class FidelityReport:
    """Recall, false-goal rate and agreement of one learned reward, and the verdict.

    ``recall`` counts the goal states of every part (rollout and search); ``false_goal_rate`` and
    ``agreement`` are the rollout's; ``search_false_goal_rate`` the searches' (over all their non-goal
    states; None without a search); ``parts`` each source's numbers; ``worst`` the most confident false goals, then missed goals.
    """

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
    parts: tuple[PartReport, ...] = ()
    search_false_goal_rate: Proportion | None = None

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def false_goals(self) -> tuple[WorstCase, ...]:
        return tuple(case for case in self.worst if not case.truth)

    @property
    def missed_goals(self) -> tuple[WorstCase, ...]:
        return tuple(case for case in self.worst if case.truth)

    def __str__(self) -> str:
        search = ("" if self.search_false_goal_rate is None else
                  f", search's false goals {self.search_false_goal_rate.text(percent=True)}")
        return (f"{self.decider} vs {self.truth_key} on {self.rollout}: recall {self.recall.text()}, "
                f"false goals {self.false_goal_rate.text(percent=True)}{search}, agreement {self.agreement.text(4)}")

    def details(self) -> str:
        """Several lines: the summary, each part, the thresholds, the false goals and the missed goals."""
        lines = [str(self)] + [f"  {part}" for part in self.parts if len(self.parts) > 1]
        lines.append(f"  thresholds: recall >= {fmt(self.min_recall)}, false-goal rate <= {100 * self.max_false_goal_rate:.3g}%, "
                     f"at least {self.min_goals} goals (95% Wilson intervals)")
        for title, cases in (("false goals (most confident first)", self.false_goals),
                             ("missed goals (most confidently missed first)", self.missed_goals)):
            if cases:
                lines.append(f"  {title}:")
                lines += [f"    {case}" for case in cases]
        return "\n".join(lines)


class FidelityError(CheckError):
    """The learned reward disagrees with the env's truth beyond the thresholds; ``report`` has the numbers."""

    def __init__(self, report: FidelityReport) -> None:
        problems = "\n".join(f"  - {problem}" for problem in report.problems)
        super().__init__(f"reward fidelity fails:\n{problems}\n{report.details()}", report)


def _problems(recall: Proportion, false_goals: Proportion, search_false_goals: Proportion | None, min_recall: float,
              max_rate: float, min_goals: int, truth_key: str | None) -> list[str]:
    problems = []
    if recall.trials < min_goals:
        problems.append(f"the states seen reached the goal {recall.trials} times ({truth_key} true), fewer than "
                        f"{min_goals}: too few to judge recall; take more steps, a larger drl_search_steps or a policy "
                        f"that reaches the goal")
    elif recall.interval[1] < min_recall:
        problems.append(f"goal recall {recall.text()} is below {fmt(min_recall)} (even the interval's upper end is)")
    if false_goals.trials and false_goals.interval[0] > max_rate:
        problems.append(f"false-goal rate {false_goals.text(percent=True)} is above {100 * max_rate:.3g}% "
                        f"(even the interval's lower end is)")
    if search_false_goals is not None and search_false_goals.trials and search_false_goals.interval[0] > max_rate:
        problems.append(f"the searches (for false goals and for goals) found false goals at a rate of "
                        f"{search_false_goals.text(percent=True)}, "
                        f"above {100 * max_rate:.3g}% (even the interval's lower end is): an agent would find them too; "
                        f"the threshold sweep says whether a higher threshold fixes it, else retrain with the false goals "
                        f"as non-goal examples")
    return problems


def _counts(truth: np.ndarray, decisions: np.ndarray, episodes: Any) -> tuple[Proportion, Proportion]:  # clustered
    return Proportion.of(decisions, truth, episodes), Proportion.of(decisions, ~truth, episodes)


def _worst(rollout: Rollout, truth: np.ndarray, decisions: np.ndarray, probabilities: np.ndarray | None) -> list[WorstCase]:
    return [WorstCase(rollout.where(int(i)), bool(truth[i]), None if probabilities is None else float(probabilities[i]))
            for i in np.flatnonzero(decisions != truth)]


def _ranked(cases: list[WorstCase], worst: int) -> tuple[WorstCase, ...]:
    """The ``worst`` most confident false goals (by p), then the ``worst`` most confidently missed (by 1 - p)."""
    false = sorted((c for c in cases if not c.truth), key=lambda c: -c.confidence)
    missed = sorted((c for c in cases if c.truth), key=lambda c: -c.confidence)
    return tuple(false[:worst] + missed[:worst])


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
    parts: Sequence[tuple[Rollout, np.ndarray, np.ndarray | None]] = (),
) -> FidelityReport:
    """Compare ``decisions`` (bool, one per rollout step) with the rollout's truth; no assertion.

    ``parts``: more states with their decisions and probabilities, e.g. a false-goal search's and a goal
    search's (:class:`~pytest_drlreward.checks.search.SearchRollout`): their goal states count for recall,
    and the searches' false-goal rate (over all their non-goal states) is judged like the rollout's.
    """
    if rollout.truth is None:
        what = f"the env reports no {rollout.truth_key!r} in its step info" if rollout.truth_key else "the rollout kept no truth"
        raise RolloutError(f"{what}: nothing to compare the reward with")
    truth, decisions = rollout.truth, np.asarray(decisions, dtype=bool)
    if decisions.shape != truth.shape:
        raise ValueError(f"{len(decisions)} decisions for a rollout of {len(truth)} steps")
    recall, false_goals = _counts(truth, decisions, rollout.episode_seeds)  # each episode a cluster
    agreement = Proportion.of(decisions == truth, np.ones(len(truth), bool), rollout.episode_seeds)
    cases = _worst(rollout, truth, decisions, probabilities)
    reports = [PartReport("rollout", rollout.describe(), recall, false_goals)]
    search_false_goals = None
    for states, part_decisions, part_probabilities in parts:
        part_decisions = np.asarray(part_decisions, dtype=bool)
        part_recall, part_false = _counts(states.truth, part_decisions, getattr(states, "probe_index", None))
        purpose = getattr(states, "purpose", "states")
        reports.append(PartReport(f"search for {purpose}", states.describe(), part_recall, part_false))
        recall = recall + part_recall
        # both searches' non-goal states: the goal search passes where an agent would, false goals included
        search_false_goals = part_false if search_false_goals is None else search_false_goals + part_false
        cases += _worst(states, states.truth, part_decisions, part_probabilities)
    described = rollout.describe() + "".join(f" + {part.states}" for part in reports[1:])
    return FidelityReport(decider, described, rollout.truth_key, recall, false_goals, agreement,
                          float(min_recall), float(max_false_goal_rate), int(min_goals), _ranked(cases, worst),
                          tuple(_problems(recall, false_goals, search_false_goals, min_recall, max_false_goal_rate,
                                          min_goals, rollout.truth_key)),
                          tuple(reports), search_false_goals)


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
    min_correlation: float = 0.5,
    max_mean_abs_error: float | None = None,
    search_steps: int = 0,
    searches: Sequence[Rollout] = (),
) -> Any:
    """Assert a learned reward agrees with the env's truth on a rollout and searched states; return the
    :class:`FidelityReport` (a ``ScoreFidelityReport`` for a dense score).

    ``env_or_rollout``: an env, stepped ``n_steps`` times from ``reset(seed=seed)`` by ``policy``
    (default: seeded random actions), or a :class:`Rollout` already collected. The learned decision
    is ``backend`` applied to each step's image when a backend is given, else ``info[decision_key]``
    (an env whose reward is learned). The truth is ``info[truth_key]``. With a backend and an env,
    ``search_steps`` > 0 adds :func:`collect_searches` guided by ``backend``; ``searches`` are such
    states already collected (judged by ``backend``). Raises :class:`FidelityError` when recall's
    interval (all goal states) lies below ``min_recall``, the rollout's or the false-goal search's
    false-goal rate's above ``max_false_goal_rate``, or fewer than ``min_goals`` goals were seen.
    Decisions follow the backend's decision rule; a dense ``score`` without a threshold is judged by
    its correlation with ``info[truth_key]`` (at least ``min_correlation``) and mean absolute error (at
    most ``max_mean_abs_error``) on the rollout instead, and on searched states by its false goals (a
    score above what it pays where the truth is best, where the truth is low: ``score_fidelity``'s rule),
    returning a ``ScoreFidelityReport``.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    if isinstance(env_or_rollout, Rollout):
        rollout = env_or_rollout
    else:
        dense = backend is not None and not rule_of(backend).decides  # a dense score: judged against a dense truth
        rollout = collect_rollout(env_or_rollout, n_steps, seed=seed, policy=policy, truth_key=truth_key,
                                  decision_key=None if backend is not None else decision_key,
                                  probability_key=None if backend is not None else probability_key,
                                  images=backend is not None, dense_truth=dense, inputs=getattr(backend, "inputs", None))
        if backend is not None and search_steps and rollout.truth_values is not None:
            cut = float(np.median(rollout.truth_values)) if rollout.truth is None else None  # a dense truth's "low"
            searches = (*searches, *collect_searches(env_or_rollout, backend, search_steps, seed=seed, truth_key=truth_key,
                                                     truth_below=cut))
    parts = []
    if backend is not None:
        if rollout.images is None:
            raise RolloutError("the rollout kept no images, so a backend cannot be judged on it")
        decided = decide(backend, rollout.images, batch_size)
        if decided.rule is not None and not decided.rule.decides:
            scored = [(states, goal_scores(backend, states.images, batch_size)[1]) for states in searches]
            return score_fidelity_of(rollout, decided, min_correlation, max_mean_abs_error, scored, max_false_goal_rate)
        decisions, probabilities, decider = decided.goal, decided.probability, decided.backend
        parts = [(states, *goal_scores(backend, states.images, batch_size)) for states in searches]
    else:
        if rollout.decisions is None:
            raise RolloutError(f"no backend given and the env reports no {decision_key!r} in its step info")
        decisions, probabilities, decider = rollout.decisions, rollout.probabilities, f"info[{decision_key!r}]"
        if probabilities is not None:
            require_finite(probabilities, f"the env's info[{probability_key!r}]", unit="goal probabilities")
    if backend is not None and rule_of(backend).kind == "score" and probabilities is not None:
        probabilities = None  # a score is no probability: worst cases are listed without one
    report = fidelity_report(rollout, decisions, probabilities, decider, min_recall=min_recall,
                             max_false_goal_rate=max_false_goal_rate, min_goals=min_goals, parts=parts)
    if not report.passed:
        raise FidelityError(report)
    return report
