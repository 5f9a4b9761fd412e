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
from pytest_drlreward.checks._inputs import as_inputs, batch_len, describe_inputs, noun, row_name, take
from pytest_drlreward.checks.finite import require_finite
from pytest_drlreward.checks.probability_hint import probability_hint
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
    what: str = "images"  # what the batch rows are: "images", or "inputs" (named or not images)
    rule: str = "argmax"  # the reference's decision rule, e.g. "sigmoid > 0.7"

    def __str__(self) -> str:
        reference, candidate = self.names
        agree = self.n_images - self.argmax_disagreements
        agreed = (f"argmax agree {agree}/{self.n_images}" if self.rule.startswith("argmax") else
                  f"decisions agree {agree}/{self.n_images} ({self.rule})")
        text = (f"{candidate} vs {reference}: {self.n_images} {self.what}, max |diff| {self.max_abs_error:.2g}, "
                f"{agreed} (atol={fmt(self.atol)}, rtol={fmt(self.rtol)})")
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


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray, zero_by_zero: float = 0.0) -> np.ndarray:
    """``numerator / denominator`` elementwise without numpy warnings: x/0 is inf, 0/0 is ``zero_by_zero``,
    and a quotient too large for float64 (a subnormal denominator) is inf."""
    with np.errstate(all="ignore"):
        out = np.true_divide(numerator, denominator)
    out = np.where(np.isnan(out), np.inf, out)
    return np.where((numerator == 0) & (denominator == 0), zero_by_zero, out)


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
    return min_atol, float(np.max(_safe_divide(diff[over] - atol, scale[over])))


def check_tolerances(atol: float, rtol: float) -> None:
    """ValueError naming a tolerance that is NaN or negative (NaN would pass every difference)."""
    for name, value in (("atol", atol), ("rtol", rtol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= 0:
            raise ValueError(f"{name}={value!r}: a parity tolerance must be a number >= 0 (NaN would pass any "
                             f"difference); give e.g. {name}={DEFAULT_ATOL if name == 'atol' else DEFAULT_RTOL}")


def _message(report: ParityReport, ref: np.ndarray, cand: np.ndarray, disagree: np.ndarray, inputs: Any,
             rule: str = "argmax", first_row: int = 0) -> str:
    """Describe every way the candidate logits differ from the reference ones (rows counted from ``first_row``)."""
    ref_name, cand_name = report.names
    diff = np.abs(cand - ref)
    allowed = report.atol + report.rtol * np.abs(ref)
    excess = np.where(diff > allowed, _safe_divide(diff, allowed, np.inf), 0.0)
    rel = _safe_divide(diff, np.abs(ref))
    argmax = rule.startswith("argmax")
    worst = np.unravel_index(int(np.argmax(excess if report.n_mismatched else diff)), diff.shape)
    i, k = int(worst[0]), int(worst[1])
    share = report.n_mismatched / report.n_elements if report.n_elements else 0.0
    what = noun(inputs)
    named = f" ({describe_inputs(inputs)})" if isinstance(inputs, dict) else ""
    rows = f"{'image indices' if what == 'images' else 'batch rows'} {listed([first_row + int(j) for j in disagree])}"
    return (
        f"backends disagree: candidate {cand_name!r} vs reference {ref_name!r} on {ref.shape[0]} {what} x {ref.shape[1]} "
        f"{'classes' if argmax else 'output values'}{named}\n"
        f"  out of tolerance: {report.n_mismatched}/{report.n_elements} elements ({100 * share:.3g}%) "
        f"(atol={fmt(report.atol)}, rtol={fmt(report.rtol)}; allowed |candidate - reference| <= atol + rtol*|reference|)\n"
        f"  worst element: {row_name(inputs, first_row + i)}, {'class' if argmax else 'output element'} {k}: "
        f"reference={ref[i, k]:.7g}, candidate={cand[i, k]:.7g}, "
        f"abs error={fmt(float(diff[i, k]))}, rel error={fmt(float(rel[i, k]))}\n"
        f"  smallest tolerance that would pass: atol>={fmt(report.min_atol)} at rtol={fmt(report.rtol)}, "
        f"or rtol>={fmt(report.min_rtol)} at atol={fmt(report.atol)}\n"
        + (f"  argmax disagreements: {len(disagree)}/{ref.shape[0]} {what}" if argmax else
           f"  decision disagreements ({rule}): {len(disagree)}/{ref.shape[0]} {what}")
        + (f" at {rows}" if len(disagree) else "")
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


def compare_logits(names: tuple[str, str], ref: np.ndarray, cand: np.ndarray, inputs: Any, atol: float, rtol: float,
                   rule: Any, *, check_argmax: bool = True, first_row: int = 0) -> tuple[ParityReport, str | None, int]:
    """Judge candidate logits ``cand`` against ``ref`` (rows (N, values), finite): the report, the failure
    message (None when they agree) and the row of the worst element (``first_row`` numbers the rows in messages)."""
    ref64, cand64 = ref.astype(np.float64), cand.astype(np.float64)
    diff = np.abs(cand64 - ref64)
    allowed = atol + rtol * np.abs(ref64)
    n_mismatched = int(np.count_nonzero(diff > allowed))
    disagree = _disagreements(rule, ref64, cand64)
    rel = _safe_divide(diff, np.abs(ref64))
    min_atol, min_rtol = smallest_passing_tolerances(ref64, cand64, atol, rtol)
    passed = n_mismatched == 0 and not (check_argmax and len(disagree))
    report = ParityReport(
        names=names, n_images=batch_len(inputs), max_abs_error=float(diff.max(initial=0.0)),
        max_rel_error=float(rel.max(initial=0.0)), argmax_disagreements=len(disagree), atol=float(atol),
        rtol=float(rtol), n_mismatched=n_mismatched, n_elements=int(ref.size), min_atol=min_atol, min_rtol=min_rtol,
        passed=passed, what=noun(inputs), rule=rule.describe())
    if passed:
        return report, None, 0
    excess = np.where(diff > allowed, _safe_divide(diff, allowed, np.inf), 0.0)
    worst = int(np.unravel_index(int(np.argmax(excess if n_mismatched else diff)), diff.shape)[0]) if diff.size else 0
    message = _message(report, ref64, cand64, disagree, inputs, rule.describe(), first_row)
    hint = probability_hint(ref64, cand64, rule)
    return report, message + (f"\n  hint: {hint}" if hint else ""), worst


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

    ``images``: one array or a dict of named inputs. An element passes when ``|candidate - reference| <=
    atol + rtol * |reference|``. With ``check_argmax`` the decision (argmax class) of every row must also
    match. Backends run on batches of ``batch_size`` rows; row numbers in messages are positions in
    ``images``. Raises ValueError for a NaN or negative tolerance, :class:`ParityError` (its ``report`` holds
    the numbers, its ``replay`` the batch of the worst element: see :mod:`pytest_drlreward.replay`) or
    returns a :class:`ParityReport`.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    check_tolerances(atol, rtol)
    images = as_inputs(images)
    names = (backend_name(reference), backend_name(candidate))
    ref = logits_in_batches(reference, images, "reference", batch_size)
    cand = logits_in_batches(candidate, images, "candidate", batch_size)
    if ref.shape != cand.shape:
        raise ParityError(f"logit shapes differ: reference {names[0]!r} gave {ref.shape}, candidate {names[1]!r} gave {cand.shape}")
    _check_finite(ref, names[0], "reference")
    _check_finite(cand, names[1], "candidate")
    rule = loose_argmax(rule_of(reference), ref.shape[1])
    report, message, worst = compare_logits(names, ref, cand, images, atol, rtol, rule, check_argmax=check_argmax)
    if message is not None:
        from pytest_drlreward.checks.replay_case import case_of

        error = ParityError(message, report)
        error.replay = case_of("parity", images, worst, batch_size, {
            "reference": names[0], "candidate": names[1], "atol": float(atol), "rtol": float(rtol),
            "check_argmax": bool(check_argmax)})
        raise error
    return report


def replay_lines(case: Any, reference: HasLogits, candidate: HasLogits) -> list[str]:
    """What the parity check finds on a saved case (:mod:`pytest_drlreward.replay`), as message lines."""
    settings = case.settings
    inputs = as_inputs(case.inputs)
    names = (backend_name(reference), backend_name(candidate))
    ref = logits_in_batches(reference, inputs, "reference", settings.get("batch_size"))
    cand = logits_in_batches(candidate, inputs, "candidate", settings.get("batch_size"))
    if ref.shape != cand.shape:
        return [f"logit shapes differ: reference {names[0]!r} gave {ref.shape}, candidate {names[1]!r} gave {cand.shape}"]
    _check_finite(ref, names[0], "reference")
    _check_finite(cand, names[1], "candidate")
    rule = loose_argmax(rule_of(reference), ref.shape[1])
    report, message, _ = compare_logits(names, ref, cand, inputs, settings["atol"], settings["rtol"], rule,
                                        check_argmax=settings.get("check_argmax", True),
                                        first_row=int(settings.get("first_row", 0)))
    return message.splitlines() if message else [f"passes on this batch now: {report}"]
