"""What the plugin's fixtures record on a test for the terminal summary.

Records go to ``item.user_properties`` as ``(PROPERTY, line)``, which travel with xdist's reports, so
the controller sees every worker's records. ``drl_parity.check(reference, candidate, images, source=...)``
judges a candidate the way its kind demands (elementwise tolerance for exact backends, argmax agreement
for quantized ones) and records one line per (candidate, reference, source) when the test ends, passed
or not (failed rows start with ``FAILED``). ``drl_timing.measure(backend, images)`` records a timing row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pytest_drlreward.errors import CheckError
from pytest_drlreward.timing import measure

PARITY_PROPERTY = "drlreward_parity"  # user_properties key of one parity or decision-parity line
FIDELITY_PROPERTY = "drlreward_fidelity"  # one reward-fidelity line
SWEEP_PROPERTY = "drlreward_sweep"  # one line of the threshold sweep's table
ACCURACY_PROPERTY = "drlreward_accuracy"  # one labelled-accuracy line
GOLDEN_PROPERTY = "drlreward_golden"  # one golden-output line
TIMING_PROPERTY = "drlreward_timing"  # user_properties key of one timing row
FAILED_MARK = "FAILED "


def record(node: pytest.Item, key: str, line: str, passed: bool = True) -> None:
    """Record a summary line on ``node``; failed lines start with ``FAILED``."""
    node.user_properties.append((key, ("" if passed else FAILED_MARK) + line))


def merge_reports(reports: Sequence[Any]) -> Any:
    """One ParityReport for several checks of the same pair: image counts add, worst errors win."""
    from pytest_drlreward.checks import ParityReport

    first = reports[0]
    return ParityReport(
        names=first.names,
        n_images=sum(r.n_images for r in reports),
        max_abs_error=max(r.max_abs_error for r in reports),
        max_rel_error=max(r.max_rel_error for r in reports),
        argmax_disagreements=sum(r.argmax_disagreements for r in reports),
        atol=first.atol,
        rtol=first.rtol,
        n_mismatched=sum(r.n_mismatched for r in reports),
        n_elements=sum(r.n_elements for r in reports),
        min_atol=max(r.min_atol for r in reports),
        min_rtol=max(r.min_rtol for r in reports),
        passed=all(r.passed for r in reports),
    )


def merge_decision_reports(reports: Sequence[Any]) -> Any:
    """One DecisionParityReport for several checks of the same pair."""
    from pytest_drlreward.checks import DecisionParityReport, Proportion

    first = reports[0]
    flips = Proportion(sum(r.flips.successes for r in reports), sum(r.flips.trials for r in reports))
    return DecisionParityReport(first.reference, first.candidate, first.source, flips,
                                max(r.max_logit_diff for r in reports), first.max_flip_rate)


class ParityRecorder:
    """Runs parity checks for one test and records a summary line per pair once the test is done.

    ``config`` (the run's ``DrlConfig``) gives each candidate's tolerance (``tolerance(name)``), says which
    candidates are judged by decision agreement (``quantized(name)``: at least ``min_argmax_agreement``).
    """

    def __init__(self, node: pytest.Item, config: Any) -> None:
        self._node = node
        self.config = config
        self._reports: dict[tuple[str, str, str, str], list[Any]] = {}
        self._failures: dict[tuple[str, str, str, str], str] = {}
        self._failed_reports: dict[tuple[str, str, str, str], Any] = {}  # the last failing check's report

    def tolerance(self, backend: Any) -> tuple[float, float]:
        """(atol, rtol) that applies to ``backend``."""
        return self.config.tolerance(str(getattr(backend, "name", "")))

    def check(self, reference: Any, candidate: Any, images: Any, *, source: str = "", check_argmax: bool = True) -> Any:
        """Judge ``candidate`` against ``reference`` on ``images``; return the report.

        Exact backends: logits within their tolerance (and the same argmax, with ``check_argmax``).
        Quantized backends: the same decision on at least ``min_argmax_agreement`` of the images.
        """
        from pytest_drlreward.checks import assert_backends_agree

        __tracebackhide__ = True
        name = str(getattr(candidate, "name", ""))
        if self.config.quantized(name):
            return self.decisions(reference, candidate, images, source=source,
                                  max_flip_rate=1.0 - self.config.min_argmax_agreement)
        atol, rtol = self.tolerance(candidate)
        return self._run("parity", source, assert_backends_agree, reference, candidate, images, atol, rtol,
                         check_argmax=check_argmax)

    def decisions(self, reference: Any, candidate: Any, images: Any, *, source: str = "", max_flip_rate: float = 0.0) -> Any:
        """Assert the candidate flips at most ``max_flip_rate`` of the reward decisions (images or a Rollout)."""
        from pytest_drlreward.checks import assert_decisions_agree

        __tracebackhide__ = True
        return self._run("decisions", source, assert_decisions_agree, reference, candidate, images,
                         max_flip_rate=max_flip_rate, source=source or None)

    def _run(self, kind: str, label: str, check: Any, reference: Any, candidate: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``check(reference, candidate, *args, **kwargs)``, keeping its report (or failure) for the summary."""
        __tracebackhide__ = True
        key = (kind, str(getattr(candidate, "name", "")), str(getattr(reference, "name", "")), label)
        try:
            report = check(reference, candidate, *args, **kwargs)
        except CheckError as error:
            found = error.report
            if found is not None:
                self._reports.setdefault(key, []).append(found)
                self._failed_reports[key] = found  # Hypothesis replays its minimal example last: the error shown
            self._failures[key] = str(error).splitlines()[0]
            raise
        self._reports.setdefault(key, []).append(report)
        return report

    def finish(self) -> None:
        """Record the summary lines on the test (failed pairs marked)."""
        for key in dict.fromkeys([*self._reports, *self._failures]):
            kind, candidate, reference, source = key
            suffix = f" [{source}]" if source and kind == "parity" else ""
            reports = self._reports.get(key)
            failed = key in self._failures
            if failed and key in self._failed_reports:  # the same examples as the error, not every one drawn
                line = f"{kind}: {self._failed_reports[key]}{suffix}"
                if kind == "parity" and len(reports) > 1:
                    line += f" (the failing check; {len(reports)} checks, {sum(r.n_images for r in reports)} images in all)"
            elif reports:
                merged = merge_reports(reports) if kind == "parity" else merge_decision_reports(reports)
                line = f"{kind}: {merged}{suffix}"
            else:
                line = f"{kind}: {candidate} vs {reference}{suffix}: {self._failures[key]}"
            record(self._node, PARITY_PROPERTY, line, passed=not failed)


class TimingRecorder:
    """Measures backends and records each result on the current test (``drl_timing`` fixture)."""

    def __init__(self, node: pytest.Item, threads: Any = None, xdist_workers: int = 0) -> None:
        self._node = node
        self._threads = threads or (lambda backend: None)
        self._workers = xdist_workers

    def measure(self, backend: Any, images: Any, rounds: int = 50, warmup: int = 10) -> float:
        """Median ms of ``backend.logits(images)``; records the row (with spread) for the timing table."""
        from pytest_drlreward.checks._inputs import batch_len

        sample = measure(lambda: backend.logits(images), rounds, warmup)
        row = {"backend": str(getattr(backend, "name", type(backend).__name__)), "batch": batch_len(images),
               "median_ms": sample.median_ms, "min_ms": sample.min_ms, "max_ms": sample.max_ms,
               "q1_ms": sample.q1_ms, "q3_ms": sample.q3_ms, "threads": self._threads(backend),
               "xdist_workers": self._workers}
        self._node.user_properties.append((TIMING_PROPERTY, row))
        return sample.median_ms
