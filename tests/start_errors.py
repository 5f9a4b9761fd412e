"""A probe of a setting checked at start: pytest stops with one usage error line naming it, and no test runs."""

from __future__ import annotations

import pytest


def usage_error_at_start(pytester: pytest.Pytester, ini: str, *args: str, named: str = "") -> str:
    """Run pytest on a project whose one test writes a marker; expect one usage error line and no test run."""
    marker = pytester.path / "a_test_ran"
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_probe=f"def test_probe():\n    open({str(marker)!r}, 'w').close()\n")
    result = pytester.runpytest(*args)
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines[-20:] + result.errlines[-20:]
    assert len(errors) == 1 and named in errors[0], result.errlines
    assert not marker.exists()
    return errors[0]
