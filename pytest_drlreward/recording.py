"""What the plugin's ``drl_parity`` and ``drl_timing`` fixtures record on a test for the terminal summary.

Records go to ``item.user_properties``, which travel with xdist's reports, so the controller sees
every worker's records. ``drl_parity.check(reference, candidate, images, source=...)`` runs
:func:`~pytest_drlreward.checks.assert_backends_agree` with the configured tolerances; once the test
ends and every check passed, one line per (candidate, reference, source) is recorded.
``drl_timing.measure(backend, images)`` records (backend, batch, median ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pytest_drlreward.timing import median_ms

PARITY_PROPERTY = "drlreward_parity"  # user_properties key of one parity summary line
TIMING_PROPERTY = "drlreward_timing"  # user_properties key of one timing row


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
    )


class ParityRecorder:
    """Runs parity checks for one test and records a summary line per pair once the test is done."""

    def __init__(self, node: pytest.Item, atol: float, rtol: float) -> None:
        self._node = node
        self.atol = atol
        self.rtol = rtol
        self._reports: dict[tuple[str, str, str], list[Any]] = {}
        self._failed = False

    def check(self, reference: Any, candidate: Any, images: Any, *, source: str = "", check_argmax: bool = True) -> Any:
        """Assert ``candidate`` matches ``reference`` on ``images``; return the ParityReport."""
        from pytest_drlreward.checks import assert_backends_agree

        __tracebackhide__ = True
        try:
            report = assert_backends_agree(reference, candidate, images, self.atol, self.rtol,
                                           check_argmax=check_argmax)
        except AssertionError:
            self._failed = True
            raise
        self._reports.setdefault((*report.names, source), []).append(report)
        return report

    def finish(self) -> None:
        """Record the summary lines on the test (nothing if any check failed)."""
        if self._failed:
            return
        for (_, _, source), reports in self._reports.items():
            suffix = f" [{source}]" if source else ""
            self._node.user_properties.append((PARITY_PROPERTY, f"parity: {merge_reports(reports)}{suffix}"))


class TimingRecorder:
    """Measures backends and records each result on the current test (``drl_timing`` fixture)."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def measure(self, backend: Any, images: Any, rounds: int = 50, warmup: int = 10) -> float:
        """Median ms of ``backend.logits(images)``; records (backend name, batch size, median ms)."""
        ms = median_ms(lambda: backend.logits(images), rounds, warmup)
        row = {"backend": str(getattr(backend, "name", type(backend).__name__)), "batch": int(len(images)),
               "median_ms": ms}
        self._node.user_properties.append((TIMING_PROPERTY, row))
        return ms
