"""Parity checks with the configured tolerances, summarised per test for the terminal summary.

``drl_parity.check(reference, candidate, images, source=...)`` runs
:func:`~pytest_drlreward.checks.assert_backends_agree` with ``drl_parity_atol``/``drl_parity_rtol``.
When the test ends and every check passed, one line per (candidate, reference, source) is recorded
on the test, e.g. ``parity: openvino vs torch: 40 images, max |diff| 3e-07, ... [random images]``;
the plugin prints these lines in the terminal summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

USER_PROPERTY = "drlreward_parity"  # user_properties key of one summary line


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
            self._node.user_properties.append((USER_PROPERTY, f"parity: {merge_reports(reports)}{suffix}"))
