"""Backend parity: two reward backends give the same outputs on the same inputs.

Inputs are one array (a one-input model) or a dict name -> array; outputs of any rule ((N, K), (N, 1),
(N,)) are compared as rows (N, values).

An element passes when ``|candidate - reference| <= atol + rtol * |reference|`` (numpy's
``isclose`` rule); failures name the worst element, the share of elements out of tolerance and the
smallest tolerance that would have passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pytest_drlreward.checks._format import CheckError, backend_name, fmt, listed
from pytest_drlreward.checks._inputs import as_inputs, batch_len, noun, take
from pytest_drlreward.checks.finite import require_finite
from pytest_drlreward.classifier.decision import loose_argmax, rule_of
from pytest_drlreward.defaults import DEFAULT_ATOL, DEFAULT_RTOL

DEFAULT_BATCH = 256  # images per backend call when a check runs a backend on many images


class ParityError(CheckError):
    """Two reward backends gave different logits for the same images; ``report`` says by how much."""


class HasLogits(Protocol):
    """What parity needs of a reward model runtime (a backend, a fake, a callable): a name and its raw outputs
    for a batch of inputs."""

    name: str

    def logits(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ParityReport:
    """What :func:`assert_backends_agree` found; ``names`` is (reference, candidate).

    ``min_atol`` is the smallest ``atol`` that would pass at this ``rtol``, ``min_rtol`` the smallest
    ``rtol`` that would pass at this ``atol`` (``inf`` when a reference logit of 0 is off by more than atol).
    """

    names: tuple[str, str]
    n_images: int
    max_abs_error: float
    max_rel_error: float
    argmax_disagreements: int
    atol: float
    rtol: float
    n_mismatched: int = 0
    n_elements: int = 0
    min_atol: float = 0.0
    min_rtol: float = 0.0
    passed: bool = True

    def __str__(self) -> str:
        reference, candidate = self.names
        agree = self.n_images - self.argmax_disagreements
        text = (f"{candidate} vs {reference}: {self.n_images} images, max |diff| {self.max_abs_error:.2g}, "
                f"argmax agree {agree}/{self.n_images} (atol={fmt(self.atol)}, rtol={fmt(self.rtol)})")
        if self.n_mismatched:
            text += (f", {self.n_mismatched}/{self.n_elements} elements out of tolerance; passes with "
                     f"atol>={fmt(self.min_atol)} or rtol>={fmt(self.min_rtol)}")
        return text


def logits_in_batches(backend: Any, images: Any, role: str = "", batch_size: int | None = DEFAULT_BATCH) -> np.ndarray:
    """``backend.logits`` on ``images`` (one array or a dict of named inputs) in batches of ``batch_size``,
    as rows (N, values) concatenated: an (N,) output becomes (N, 1).

    Row ``i`` of the result belongs to input ``i``, whatever the batching.
    """
    images = as_inputs(images)
    n = batch_len(images)
    size = n if not batch_size else int(batch_size)
    parts = []
    for start in range(0, n, max(size, 1)):
        chunk = take(images, slice(start, start + size))
        count = batch_len(chunk)
        out = np.asarray(backend.logits(chunk))
        if out.ndim == 1 and out.shape[0] == count:
            out = out[:, None]
        if out.ndim != 2 or out.shape[0] != count:
            who = f"{role} backend" if role else "backend"
            raise ParityError(f"{who} {backend_name(backend)!r} returned logits of shape {out.shape} for "
                              f"{count} {noun(images)}; expected (N, K) = ({count}, K) or (N,)")
        parts.append(out)
    if not parts:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(parts)


def _check_finite(logits: np.ndarray, name: str, role: str) -> None:
    """Raise naming where the first non-finite logits are."""
    require_finite(logits, f"{role} backend {name!r}", error=ParityError, unit="logits")


def smallest_passing_tolerances(ref: np.ndarray, cand: np.ndarray, atol: float, rtol: float) -> tuple[float, float]:
    """(smallest atol passing at ``rtol``, smallest rtol passing at ``atol``) for these logits."""
    diff = np.abs(cand - ref)
    scale = np.abs(ref)
    if diff.size == 0:
        return 0.0, 0.0
    min_atol = float(max(0.0, np.max(diff - rtol * scale)))
    over = diff > atol
    if not over.any():
        return min_atol, 0.0
    if np.any(scale[over] == 0):
        return min_atol, float("inf")
    return min_atol, float(np.max((diff[over] - atol) / scale[over]))


def _message(report: ParityReport, ref: np.ndarray, cand: np.ndarray, disagree: np.ndarray, what: str = "images",
             rule: str = "argmax") -> str:
    """Describe every way the candidate logits differ from the reference ones."""
    ref_name, cand_name = report.names
    diff = np.abs(cand - ref)
    allowed = report.atol + report.rtol * np.abs(ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(diff > allowed, diff / allowed, 0.0)
        excess = np.where(np.isnan(excess), np.inf, excess)
        rel = np.where(diff == 0, 0.0, diff / np.abs(ref))
    argmax = rule.startswith("argmax")
    worst = np.unravel_index(int(np.argmax(excess if report.n_mismatched else diff)), diff.shape)
    i, k = int(worst[0]), int(worst[1])
    share = report.n_mismatched / report.n_elements if report.n_elements else 0.0
    return (
        f"backends disagree: candidate {cand_name!r} vs reference {ref_name!r} on {ref.shape[0]} {what} x {ref.shape[1]} "
        f"{'classes' if argmax else 'output values'}\n"
        f"  out of tolerance: {report.n_mismatched}/{report.n_elements} elements ({100 * share:.3g}%) "
        f"(atol={fmt(report.atol)}, rtol={fmt(report.rtol)}; allowed |candidate - reference| <= atol + rtol*|reference|)\n"
        f"  worst element: {what[:-1]} {i}, {'class' if argmax else 'output element'} {k}: "
        f"reference={ref[i, k]:.7g}, candidate={cand[i, k]:.7g}, "
        f"abs error={fmt(float(diff[i, k]))}, rel error={fmt(float(rel[i, k]))}\n"
        f"  smallest tolerance that would pass: atol>={fmt(report.min_atol)} at rtol={fmt(report.rtol)}, "
        f"or rtol>={fmt(report.min_rtol)} at atol={fmt(report.atol)}\n"
        + (f"  argmax disagreements: {len(disagree)}/{ref.shape[0]} {what}" if argmax else
           f"  decision disagreements ({rule}): {len(disagree)}/{ref.shape[0]} {what}")
        + (f" at {what[:-1]} indices {listed(disagree)}" if len(disagree) else "")
    )


def _disagreements(rule: Any, ref: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Indices where the decisions differ: the argmax class (argmax rules), else the rule's goal decision."""
    if not ref.size:
        return np.array([], int)
    if rule.kind == "argmax" and rule.n_outputs == ref.shape[1]:
        return np.flatnonzero(ref.argmax(axis=1) != cand.argmax(axis=1))
    if not rule.decides or rule.n_outputs != ref.shape[1]:
        return np.array([], int)
    return np.flatnonzero(rule.predict_goal(ref) != rule.predict_goal(cand))


def assert_backends_agree(
    reference: HasLogits,
    candidate: HasLogits,
    images: np.ndarray,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    *,
    check_argmax: bool = True,
    batch_size: int | None = DEFAULT_BATCH,
) -> ParityReport:
    """Assert two backends give the same logits for ``images`` within tolerance.

    An element passes when ``|candidate - reference| <= atol + rtol * |reference|``. With
    ``check_argmax`` the predicted class of every image must also match. Backends run on batches of
    ``batch_size`` images; image indices in messages are positions in ``images``. Raises
    :class:`ParityError` (its ``report`` holds the numbers) or returns a :class:`ParityReport`.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    images = as_inputs(images)
    names = (backend_name(reference), backend_name(candidate))
    ref = logits_in_batches(reference, images, "reference", batch_size)
    cand = logits_in_batches(candidate, images, "candidate", batch_size)
    if ref.shape != cand.shape:
        raise ParityError(f"logit shapes differ: reference {names[0]!r} gave {ref.shape}, candidate {names[1]!r} gave {cand.shape}")
    _check_finite(ref, names[0], "reference")
    _check_finite(cand, names[1], "candidate")
    ref64, cand64 = ref.astype(np.float64), cand.astype(np.float64)
    diff = np.abs(cand64 - ref64)
    n_mismatched = int(np.count_nonzero(diff > atol + rtol * np.abs(ref64)))
    rule = loose_argmax(rule_of(reference), ref.shape[1])
    disagree = _disagreements(rule, ref64, cand64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / np.abs(ref64))
    min_atol, min_rtol = smallest_passing_tolerances(ref64, cand64, atol, rtol)
    passed = n_mismatched == 0 and not (check_argmax and len(disagree))
    report = ParityReport(
        names=names,
        n_images=batch_len(images),
        max_abs_error=float(diff.max(initial=0.0)),
        max_rel_error=float(rel.max(initial=0.0)),
        argmax_disagreements=len(disagree),
        atol=float(atol),
        rtol=float(rtol),
        n_mismatched=n_mismatched,
        n_elements=int(ref.size),
        min_atol=min_atol,
        min_rtol=min_rtol,
        passed=passed,
    )
    if not passed:
        raise ParityError(_message(report, ref64, cand64, disagree, noun(images), rule.describe()), report)
    return report
