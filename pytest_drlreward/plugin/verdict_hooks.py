"""The plugin's three verdicts (a plugin module of ``plugin.py``'s ``pytest_plugins``).

- A :class:`~pytest_drlreward.errors.NotVerifiedError` raised in a test or a fixture fails the test with one
  line, ``NOT VERIFIED (check): reason; to verify it: fix``, unless ``drl_allow_unverified`` names the check:
  then it is a skip with the accepted reason. A failure of a check of the env's own code (``env_checker``,
  ``contract``, ``vecenv``) named there is a skip with its reason too (a known failure of someone else's env).
- At start: an env that cannot show the classifier anything (its factory takes no ``render_mode`` and it has
  no ``camera_image()``) while fidelity or decisions need it is one usage error, unless accepted.
- The terminal summary ends with the accepted gaps (every run) and the coverage table: check x backend ->
  VERIFIED / FAILED / NOT VERIFIED (reason) / accepted, with what it was judged on. Verdicts travel on the
  test reports (``drl_check``, ``drl_backend``, ``drl_verdict``) and ``user_properties``, so xdist works.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_drlreward.errors import NotVerifiedError
from pytest_drlreward.plugin import verdicts
from pytest_drlreward.plugin.options import CONFIG_KEY
from pytest_drlreward.plugin.recording import ACCEPTED_PROPERTY, COVERAGE_PROPERTY

_CHECK_KEY = pytest.StashKey[str]()


def _accepted(config: pytest.Config) -> dict[str, str]:
    drl = config.stash.get(CONFIG_KEY, None)
    return getattr(drl, "allow_unverified", None) or {}


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """One usage error at start for an env that shows the classifier nothing (unless accepted)."""
    drl = config.stash.get(CONFIG_KEY, None)
    if drl is None or _is_worker(config):
        return
    from pytest_drlreward.plugin.preflight import image_gap_at_start

    gap = image_gap_at_start(drl.env_to_make(), drl.truth_key, drl.model)
    accepted = _accepted(config)
    if gap is not None and not all(check in accepted for check in gap.checks):
        raise pytest.UsageError(f"drl_env {drl.env!r}: {verdicts.not_verified_text(', '.join(gap.checks), gap.reason, gap.fix)}"
                                f"; {verdicts.accept_hint(gap.checks)}")
    records = CoverageRecords(config)
    config.stash[COVERAGE_KEY] = records
    config.pluginmanager.register(records, "drlreward-coverage")


def _item_check(item: pytest.Item) -> str | None:
    module = getattr(getattr(item, "function", None), "__module__", None) or ""  # where defined: re-exported suites too
    return verdicts.suite_check(module, getattr(item, "originalname", item.name))


def _item_backend(item: pytest.Item, check: str) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "reward_backend" in callspec.params:
        return str(callspec.params["reward_backend"])
    if "reference_backend" in getattr(item, "fixturenames", ()):
        drl = item.config.stash.get(CONFIG_KEY, None)
        return f"{getattr(drl, 'reference', 'reference')} (ref)"
    return "env" if check in verdicts.ACCEPTS_FAILURE else "-"


def _failed(text: str) -> Any:
    try:
        pytest.fail(text, pytrace=False)
    except pytest.fail.Exception:
        return pytest.ExceptionInfo.from_current()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    check, accepted = item.stash.get(_CHECK_KEY, None) or _item_check(item), _accepted(item.config)
    error = call.excinfo.value if call.excinfo is not None else None
    verdict = skip = None
    if isinstance(error, NotVerifiedError):
        check = check if check in error.checks else error.check
        text = verdicts.not_verified_text(check, error.reason, error.fix)
        if check in accepted:
            verdict, skip = (verdicts.ACCEPTED, accepted[check]), verdicts.accepted_text(check, accepted[check], text)
        else:
            verdict = (verdicts.NOT_VERIFIED, error.reason)
            call.excinfo = _failed(text)
    elif (error is not None and check in verdicts.ACCEPTS_FAILURE and check in accepted
          and not isinstance(error, (pytest.skip.Exception, pytest.exit.Exception, KeyboardInterrupt))):
        verdict = (verdicts.ACCEPTED, accepted[check])
        skip = verdicts.accepted_text(check, accepted[check], f"it fails: {_first_line(error)}", "a known failure")
    report = yield
    if skip is not None:
        path, line = item.reportinfo()[:2]
        report.outcome, report.longrepr = "skipped", (str(path), (line or 0) + 1, f"Skipped: {skip}")
    elif verdict is not None and hasattr(report.longrepr, "reprcrash") and report.longrepr.reprcrash is not None:
        report.longrepr.reprcrash.message = verdicts.not_verified_text(check, error.reason, error.fix)
    if check is not None:
        item.stash[_CHECK_KEY] = check  # a test outside the suite has a check once it raised NotVerifiedError
        report.drl_check, report.drl_backend = check, _item_backend(item, check)
    if verdict is not None:
        report.drl_verdict = list(verdict)
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    verdict = getattr(report, "drl_verdict", None)
    if verdict and verdict[0] == verdicts.NOT_VERIFIED and report.failed:
        return "failed", "N", ("FAILED", {"red": True})  # a failure (also at setup), shown N in the progress
    return None


class CoverageRecords:
    """Collects each suite test's verdict and what it rests on; prints the accepted gaps and the coverage table."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rows: dict[tuple[str, str], verdicts.Row] = {}
        self.pending: dict[str, tuple[str, str] | None] = {}  # nodeid -> its verdict so far
        self.used: dict[str, int] = {}  # accepted check -> tests skipped by it

    def _outcome(self, report: pytest.TestReport) -> tuple[str, str] | None:
        drl = getattr(report, "drl_verdict", None)
        if drl:
            return drl[0], drl[1]
        if report.failed:
            return verdicts.FAILED, _crash(report)
        if report.skipped:
            return verdicts.SKIPPED, _skip_reason(report)
        return (verdicts.VERIFIED, "") if report.when == "call" else None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = getattr(report, "drl_check", None)
        if check is None:
            return
        outcome = self._outcome(report)
        if outcome is not None:
            self.pending[report.nodeid] = verdicts.worst(self.pending.get(report.nodeid), outcome)
        if report.when != "teardown":
            return
        verdict = self.pending.pop(report.nodeid, None) or (verdicts.SKIPPED, "")
        row = self.rows.setdefault((check, report.drl_backend), verdicts.Row(check, report.drl_backend))
        row.verdicts.append(verdict)
        row.judged_on += [str(value) for key, value in report.user_properties if key == COVERAGE_PROPERTY]
        used = [str(value) for key, value in report.user_properties if key == ACCEPTED_PROPERTY]
        for name in used + ([check] if verdict[0] == verdicts.ACCEPTED else []):
            self.used[name] = self.used.get(name, 0) + 1

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if _is_worker(self.config):
            return
        accepted = _accepted(self.config)
        if accepted:
            terminalreporter.write_sep("-", "drlreward accepted gaps (drl_allow_unverified)")
            for check, reason in accepted.items():
                used = self.used.get(check, 0)
                terminalreporter.write_line(f"{check}: {reason} (applied to {used} test{'s' if used != 1 else ''} "
                                            f"this run)", yellow=True)
        if self.rows:
            terminalreporter.write_sep("-", "drlreward coverage: what was verified, on what")
            for line in verdicts.coverage_lines(self.rows.values()):
                terminalreporter.write_line(line, red=" FAILED" in line or " NOT VERIFIED" in line)


COVERAGE_KEY = pytest.StashKey[CoverageRecords]()


def pytest_unconfigure(config: pytest.Config) -> None:
    records = config.stash.get(COVERAGE_KEY, None)
    if records is not None and config.pluginmanager.is_registered(records):
        config.pluginmanager.unregister(records)


def _crash(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or str(report.longrepr or "")
    return (message.strip().splitlines() or [""])[0][:200]


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    return reason.removeprefix("Skipped: ")[:200]
