"""Reward decisions of a backend on many images, and decision parity between two backends.

Decision parity asks what an agent would notice: on the same images (best: the env's own, from a
:class:`~pytest_drlreward.checks.rollout.Rollout`), how many rewards flip between the reference and a
candidate backend, and how far apart their logits are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, backend_name
from pytest_drlreward.checks._inputs import as_inputs, batch_len, noun, row_name
from pytest_drlreward.checks.finite import require_finite
from pytest_drlreward.checks.parity import DEFAULT_BATCH, logits_in_batches
from pytest_drlreward.checks.rollout import Rollout, RolloutError
from pytest_drlreward.checks.stats import Proportion
from pytest_drlreward.classifier.decision import DecisionRule, loose_argmax, rule_of

MAX_CASES = 5


def goal_index_of(backend: Any) -> int:
    """The backend's goal column (its ``goal_index``; 1 when it has none)."""
    return int(getattr(backend, "goal_index", None) or 1)


@dataclass(frozen=True)
class Decisions:
    """A backend's outputs as rows (N, values), goal decisions (N,) and goal probabilities (N,; for a
    ``score`` rule the score) on N inputs, and the rule that made them."""

    backend: str
    logits: np.ndarray
    goal: np.ndarray
    probability: np.ndarray
    rule: DecisionRule | None = None


def decide(backend: Any, images: Any, batch_size: int | None = DEFAULT_BATCH) -> Decisions:
    """Run ``backend`` on ``images`` (one array or named inputs, in batches) and apply its decision rule
    (the classifier directory's; argmax over ``goal_index`` for objects without one)."""
    logits = logits_in_batches(backend, images, batch_size=batch_size).astype(np.float64)
    require_finite(logits, f"backend {backend_name(backend)!r}", unit="logits")  # NaN would flip nothing
    rule = loose_argmax(rule_of(backend), logits.shape[1])
    if logits.shape[1] != rule.n_outputs:
        raise ValueError(f"backend {backend_name(backend)!r} gave {logits.shape[1]} output values per input, but its "
                         f"decision rule ({rule.describe()}) needs {rule.n_outputs}")
    goal, probability = rule.decide(logits)
    return Decisions(backend_name(backend), logits, goal, probability, rule)


def _images_of(images_or_rollout: Any) -> tuple[np.ndarray, Rollout | None]:
    if isinstance(images_or_rollout, Rollout):
        if images_or_rollout.images is None:
            raise RolloutError("the rollout kept no images (collect it with images=True)")
        return images_or_rollout.images, images_or_rollout
    return as_inputs(images_or_rollout), None


class DecisionParityError(CheckError):
    """A candidate backend flips more reward decisions than allowed; ``report`` holds the numbers."""


@dataclass(frozen=True)
class DecisionParityReport:
    """Reward flips and logit differences of ``candidate`` against ``reference`` on ``n`` images."""

    reference: str
    candidate: str
    source: str
    flips: Proportion
    max_logit_diff: float
    max_flip_rate: float
    cases: tuple[str, ...] = ()
    rule: str = ""  # the reference's decision rule, e.g. "sigmoid > 0.7"
    unit: str = "images"  # what a row is: "images", or "inputs" (named or not images)

    @property
    def passed(self) -> bool:
        return self.flips.value <= self.max_flip_rate if self.flips.trials else True

    def __str__(self) -> str:
        allowed = "none allowed" if self.max_flip_rate == 0 else f"allowed {100 * self.max_flip_rate:.3g}% of {self.unit}"
        rule = f" ({self.rule})" if self.rule and not self.rule.startswith("argmax") else ""
        return (f"{self.candidate} vs {self.reference} on {self.flips.trials} {self.source}: "
                f"{self.flips.successes} reward flips{rule} ({allowed}), max |logit diff| {self.max_logit_diff:.2g}")


def assert_decisions_agree(
    reference: Any,
    candidate: Any,
    images_or_rollout: Any,
    *,
    max_flip_rate: float = 0.0,
    source: str | None = None,
    batch_size: int | None = DEFAULT_BATCH,
) -> DecisionParityReport:
    """Assert ``candidate`` makes the same goal decision as ``reference`` on (nearly) every image.

    ``images_or_rollout``: uint8 images (N, H, W, 3) or a :class:`Rollout` with images (flips are then
    named by step and seed). At most ``max_flip_rate`` of the images may flip. Raises
    :class:`DecisionParityError`; returns a :class:`DecisionParityReport` with the largest logit difference.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    images, rollout = _images_of(images_or_rollout)
    ref, cand = decide(reference, images, batch_size), decide(candidate, images, batch_size)
    if ref.logits.shape != cand.logits.shape:
        raise DecisionParityError(f"logit shapes differ: {ref.backend!r} gave {ref.logits.shape}, {cand.backend!r} "
                                  f"gave {cand.logits.shape}", DecisionParityReport(ref.backend, cand.backend, "images",
                                                                                    Proportion(0, 0), float("inf"), max_flip_rate))
    where = rollout.where if rollout is not None else (lambda i: row_name(images, i))
    order, cases = flip_cases(ref, cand, where)
    diff = float(np.max(np.abs(ref.logits - cand.logits), initial=0.0))
    what = source or (f"env {noun(images)}" if rollout is not None else noun(images))
    report = DecisionParityReport(ref.backend, cand.backend, what, Proportion(len(order), batch_len(images)), diff,
                                  float(max_flip_rate), cases, ref.rule.describe() if ref.rule is not None else "", noun(images))
    if not report.passed:
        listed = "\n".join(f"    {case}" for case in cases)
        more = f"\n    (+{len(order) - len(cases)} more)" if len(order) > len(cases) else ""
        error = DecisionParityError(
            f"reward decisions differ: {report}\n  flip rate {report.flips.text(percent=True)} exceeds "
            f"{100 * max_flip_rate:.3g}%; largest flips first:\n{listed}{more}", report)
        error.replay = _case(images, rollout, where, int(order[0]), batch_size, report)
        raise error
    return report


def flip_cases(ref: Decisions, cand: Decisions, where: Callable[[int], str],
               limit: int = MAX_CASES) -> tuple[np.ndarray, tuple[str, ...]]:
    """The rows where the goal decisions differ, largest probability gap first, and the first ``limit`` described
    (``where(i)`` names row ``i``)."""
    flipped = np.flatnonzero(ref.goal != cand.goal)
    what_p = "p" if ref.rule is None or ref.rule.is_probability else "score"
    order = flipped[np.argsort(-np.abs(ref.probability[flipped] - cand.probability[flipped]), kind="stable")]
    cases = tuple(
        f"{where(int(i))}: {ref.backend} says {'goal' if ref.goal[i] else 'no goal'} ({what_p}={ref.probability[i]:.3f}), "
        f"{cand.backend} says {'goal' if cand.goal[i] else 'no goal'} ({what_p}={cand.probability[i]:.3f})"
        for i in order[:limit])
    return order, cases


def _case(images: Any, rollout: Rollout | None, where: Callable[[int], str], row: int, batch_size: int | None,
          report: DecisionParityReport) -> Any:
    """The replay case of the batch holding ``row`` (the largest flip): every row's name, and the flips' seeds."""
    from pytest_drlreward.checks.replay_case import case_of

    case = case_of("decisions", images, row, batch_size, {"reference": report.reference, "candidate": report.candidate,
                                                          "max_flip_rate": report.max_flip_rate})
    first = case.settings["first_row"]
    rows = range(first, first + batch_len(case.inputs))
    case.settings["where"] = [where(i) for i in rows]
    if rollout is not None:
        case = type(case)(case.check, case.inputs, case.settings, None, {
            "rollout": {"seed": rollout.seed, "policy": rollout.policy, "truth_key": rollout.truth_key},
            "rows": [{"row": i, "where": where(i), "reset_seed": int(rollout.episode_seeds[i]),
                      "episode_step": int(rollout.episode_steps[i])} for i in rows]})
    return case


def replay_lines(case: Any, reference: Any, candidate: Any) -> list[str]:
    """What decision parity finds on a saved case (:mod:`pytest_drlreward.replay`): the flips, largest first."""
    inputs = as_inputs(case.inputs)
    ref, cand = decide(reference, inputs, case.settings.get("batch_size")), decide(candidate, inputs, case.settings.get("batch_size"))
    names = case.settings.get("where") or [row_name(inputs, case.settings.get("first_row", 0) + i)
                                           for i in range(batch_len(inputs))]
    order, cases = flip_cases(ref, cand, lambda i: names[i])
    return [f"{len(order)} reward flips in these {batch_len(inputs)} rows; largest flips first:",
            *(f"    {line}" for line in cases)]
