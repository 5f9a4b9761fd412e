"""Accuracy on labelled images: how many a backend classifies right, against a threshold.

Labels are class indices (int) or goal flags (bool: True means goal by the backend's decision rule). For a
rule with one output (``sigmoid``, ``score`` with a threshold) integer labels 0/1 are goal flags.
Wrong images are named by their position in the labelled set. The verdict compares the measured
accuracy with the threshold (the set is fixed, so this is a regression gate); the message gives
the count and its 95% Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, backend_name, fmt
from pytest_drlreward.checks._inputs import as_inputs, batch_len, noun, row_name
from pytest_drlreward.checks.decisions import Decisions, decide
from pytest_drlreward.checks.parity import DEFAULT_BATCH
from pytest_drlreward.checks.stats import Proportion

MAX_WRONG_LISTED = 10


class AccuracyError(CheckError):
    """A backend classifies too few labelled images right; ``report`` holds the numbers."""


@dataclass(frozen=True)
class AccuracyReport:
    """``correct`` of a backend on labelled images, the accuracy required and the wrong images."""

    backend: str
    correct: Proportion
    required: float
    wrong: tuple[int, ...]
    rule: str
    what: str = "images"  # "images", or "inputs" for named or non-image inputs

    @property
    def passed(self) -> bool:
        return self.correct.value >= self.required - 1e-12

    def __str__(self) -> str:
        return f"{self.backend} on {self.correct.trials} labelled {self.what}: accuracy {self.correct.text()} ({self.rule})"


def check_labels(labels: Any, n_images: int, n_classes: int | None = None) -> np.ndarray:
    """``labels`` as a bool or int array of length ``n_images``; ValueError naming what is wrong."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n_images:
        raise ValueError(f"labels must have shape ({n_images},), got {labels.shape}")
    if labels.dtype.kind not in "biu":
        raise ValueError(f"labels must be bool (goal or not) or integer class indices, got dtype {labels.dtype}")
    if labels.dtype.kind != "b" and n_classes is not None and len(labels):
        bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
        if len(bad):
            raise ValueError(f"label {labels[bad[0]]} of image {bad[0]} is not a class index in [0, {n_classes})")
    return labels


def labels_for_rule(labels: np.ndarray, decisions: Decisions) -> np.ndarray:
    """Integer labels as goal flags (1 = goal) when the rule has one output; ValueError if the rule decides nothing."""
    rule = decisions.rule
    if rule is not None and not rule.decides:
        raise ValueError(f"the {rule.describe()} rule makes no goal decision, so labelled accuracy has no meaning; "
                         f"give the score a decision.threshold")
    if labels.dtype.kind != "b" and decisions.logits.shape[1] == 1:
        return labels == 1
    return labels


def correct_mask(decisions: Decisions, labels: np.ndarray) -> np.ndarray:
    """Bool (N,): each image classified as its label says (goal flags for bool labels, classes otherwise)."""
    if labels.dtype.kind == "b":
        return decisions.goal == labels
    return decisions.logits.argmax(axis=1) == labels


def _describe_wrong(decisions: Decisions, labels: np.ndarray, index: int, name: str) -> str:
    predicted = bool(decisions.goal[index]) if labels.dtype.kind == "b" else int(decisions.logits[index].argmax())
    label = bool(labels[index]) if labels.dtype.kind == "b" else int(labels[index])
    return f"{name}: predicted {predicted}, label {label} (goal probability {decisions.probability[index]:.3f})"


def replay_lines(case: Any, backend: Any) -> list[str]:
    """What labelled accuracy finds on a saved case (:mod:`pytest_drlreward.replay`): its wrong rows."""
    inputs = as_inputs(case.inputs)
    decisions = decide(backend, inputs, case.settings.get("batch_size"))
    labels = labels_for_rule(check_labels(case.labels, batch_len(inputs), max(2, decisions.logits.shape[1])), decisions)
    wrong = np.flatnonzero(~correct_mask(decisions, labels))
    first = int(case.settings.get("first_row", 0))
    return [f"{decisions.backend} misclassified {len(wrong)}/{len(labels)} of these labelled {noun(inputs)}:",
            *(f"    {_describe_wrong(decisions, labels, int(i), row_name(inputs, first + int(i)))}" for i in wrong)]


def assert_labelled_accuracy(
    backend: Any,
    images: np.ndarray,
    labels: Any,
    *,
    min_accuracy: float = 1.0,
    reference: Any = None,
    max_drop: float = 0.0,
    batch_size: int | None = DEFAULT_BATCH,
) -> AccuracyReport:
    """Assert ``backend`` classifies at least ``min_accuracy`` of the labelled images right.

    With ``reference``, the requirement is instead the reference's accuracy on the same images minus
    ``max_drop`` (an accuracy budget, e.g. for an INT8 model against its f32 original). Raises
    :class:`AccuracyError` naming the wrong images by position; returns an :class:`AccuracyReport`.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    images = as_inputs(images)
    decisions = decide(backend, images, batch_size)
    labels = labels_for_rule(check_labels(labels, batch_len(images), max(2, decisions.logits.shape[1])), decisions)
    right = correct_mask(decisions, labels)
    correct = Proportion(int(right.sum()), len(right))
    if reference is not None:
        ref_correct = Proportion(int(correct_mask(decide(reference, images, batch_size), labels).sum()), len(right))
        required = ref_correct.value - max_drop
        rule = (f"required >= {backend_name(reference)}'s {ref_correct.successes}/{ref_correct.trials} "
                f"minus {fmt(max_drop)} = {required:.4g}")
    else:
        required, rule = float(min_accuracy), f"required >= {fmt(min_accuracy)}"
    wrong = np.flatnonzero(~right)
    what = noun(images)
    report = AccuracyReport(decisions.backend, correct, required, tuple(int(i) for i in wrong), rule, what)
    if not report.passed:
        listed = "\n".join(f"    {_describe_wrong(decisions, labels, int(i), row_name(images, int(i)))}"
                           for i in wrong[:MAX_WRONG_LISTED])
        more = f"\n    (+{len(wrong) - MAX_WRONG_LISTED} more)" if len(wrong) > MAX_WRONG_LISTED else ""
        error = AccuracyError(f"backend {decisions.backend!r} misclassified {len(wrong)}/{len(right)} labelled {what}: "
                              f"accuracy {correct.text()} < {required:.4g} ({rule})\n{listed}{more}", report)
        from pytest_drlreward.checks.replay_case import case_of

        if len(wrong):
            error.replay = case_of("labelled", images, int(wrong[0]), batch_size, {"candidate": decisions.backend},
                                   labels)
        raise error
    return report

