"""The pytest plugin (entry point ``pytest11: drlreward``): options, markers, hooks and the summary.

Loading it imports only the standard library, pytest and light parts of this package; torch, ONNX
Runtime, OpenVINO and PyBullet are imported by fixtures when a test asks for them. At start
(``pytest_configure``) every setting is checked, so a bad one is one usage error.

This package is the pytest side (docs/architecture.md): the setting table and its readers, the start checks
(``preflight``), fixtures, recorders and verdicts live beside this module; only it and ``suite/`` import pytest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_drlreward import timing
from pytest_drlreward.plugin import recording
from pytest_drlreward.plugin.options import CONFIG_KEY, add_options, read_config
from pytest_drlreward.util.atomic import write_text_atomic

pytest_plugins = ["pytest_drlreward.plugin.fixtures", "pytest_drlreward.plugin.verdict_hooks"]  # fixtures; the three verdicts

MARKERS = {
    "parity": "checks that reward backends agree with the reference (drl_reference; pytest-drlreward)",
    "timing": "measures backend latency for the timing table; never asserts a time (pytest-drlreward)",
    "slow": "slow test, skipped unless selected with -m slow or --drl-run-slow (pytest-drlreward)",
}
SLOW_SKIP_REASON = "slow test: run with -m slow or --drl-run-slow"
GOLDEN_MODULE = Path(__file__).resolve().parent.parent / "suite" / "test_golden.py"
AUDIT_MODULE = GOLDEN_MODULE.with_name("test_audit.py")  # slow: collected only when slow tests are selected
SECTIONS = (  # (user_properties key, terminal summary section title)
    (recording.PARITY_PROPERTY, "drlreward parity"),
    (recording.FIDELITY_PROPERTY, "drlreward reward fidelity"),
    (recording.SWEEP_PROPERTY, "drlreward threshold sweep"),
    (recording.ACCURACY_PROPERTY, "drlreward labelled accuracy"),
    (recording.GOLDEN_PROPERTY, "drlreward golden outputs"),
)


class SessionRecords:
    """What this run's tests recorded (timing rows, summary lines), printed in the terminal summary.

    Tests record on ``item.user_properties``, which travel with xdist's reports, so the controller
    sees every worker's records in ``pytest_runtest_logreport``; only the controller (or a run
    without xdist) prints them, writes the timing files and compares with a timing baseline.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.timing_rows: list[dict] = []
        self.lines: dict[str, list[str]] = {key: [] for key, _ in SECTIONS}
        self.baseline_lines: list[str] = []
        self.timing_regressed = False
        self.write_errors: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":  # the teardown report holds everything the test recorded
            return
        for key, value in report.user_properties:
            if key == recording.TIMING_PROPERTY:
                self.timing_rows.append(dict(value))
            elif key in self.lines:
                self.lines[key].append(str(value))

    def _compare_timing(self, summary: list[dict]) -> None:
        drl = self.config.stash[CONFIG_KEY]
        try:
            baseline = json.loads(drl.timing_compare.read_text())
            comparisons, notes = timing.compare_with_baseline(summary, baseline, drl.timing_margin)
        except (ValueError, OSError) as error:
            self.baseline_lines = [f"cannot compare with {drl.timing_compare}: {error}"]
            self.timing_regressed = True
            return
        self.baseline_lines = [f"compared with {drl.timing_compare} (latency ratios to {drl.reference}, margin "
                               f"+{drl.timing_margin:.0%}):"]
        self.baseline_lines += [str(c) for c in comparisons] + notes
        self.timing_regressed = any(c.regressed for c in comparisons)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _is_xdist_worker(self.config):
            return
        drl = self.config.stash[CONFIG_KEY]
        summary = timing.summarise(self.timing_rows, drl.reference)
        for path, content in ((drl.timing_json, summary), (drl.timing_save, timing.baseline_from(summary))):
            if path is not None:  # its directory was checked at start
                try:
                    write_text_atomic(path, json.dumps(content, indent=2) + "\n")
                except OSError as error:  # e.g. a full disk: one line, the summary still printed
                    self.write_errors.append(f"cannot write {path}: {error}")
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if drl.timing_compare is not None:
            self._compare_timing(summary)
            if self.timing_regressed and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if _is_xdist_worker(self.config):
            return
        if self.timing_rows:
            terminalreporter.write_sep("-", "drlreward timing")
            reference = getattr(self.config.stash.get(CONFIG_KEY, None), "reference", timing.REFERENCE)
            for line in timing.table_lines(timing.summarise(self.timing_rows, reference)):
                terminalreporter.write_line(line)
        for line in self.write_errors:
            terminalreporter.write_line(f"drlreward: {line}", red=True)
        if self.baseline_lines:
            terminalreporter.write_sep("-", "drlreward timing baseline" + (": REGRESSION" if self.timing_regressed else ""))
            for line in self.baseline_lines:
                terminalreporter.write_line(line, red=line.endswith("REGRESSION"))
        drl = self.config.stash.get(CONFIG_KEY, None)
        if drl is not None and drl.model_dir is not None and (self.timing_rows or any(self.lines.values())):
            terminalreporter.write_sep("-", "drlreward classifier")
            terminalreporter.write_line(f"{drl.model_dir}: decision rule {drl.decision}; reference {drl.reference} "
                                        f"({drl.reference_reason}); candidates {', '.join(drl.backends)}")
        for key, title in SECTIONS:
            if self.lines[key]:
                terminalreporter.write_sep("-", title)
                for line in self.lines[key]:
                    terminalreporter.write_line(line, red=line.startswith(recording.FAILED_MARK))


RECORDS_KEY = pytest.StashKey[SessionRecords]()


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _selects_slow(markexpr: str) -> bool:
    """Whether a ``-m`` expression mentions the ``slow`` marker."""
    return re.search(r"\bslow\b", markexpr or "") is not None


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    config.stash[CONFIG_KEY] = read_config(config)
    records = SessionRecords(config)
    config.stash[RECORDS_KEY] = records
    config.pluginmanager.register(records, "drlreward-records")
    config.pluginmanager.register(recording.FailureReports(config), "drlreward-failures")  # short, replayable


def pytest_unconfigure(config: pytest.Config) -> None:
    records = config.stash.get(RECORDS_KEY, None)
    if records is not None and config.pluginmanager.is_registered(records):
        config.pluginmanager.unregister(records)
    failures = config.pluginmanager.get_plugin("drlreward-failures")
    if failures is not None:
        config.pluginmanager.unregister(failures)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The suite's golden-output tests are collected only with --drl-golden-save or --drl-golden-compare, its
    reward audit (a training) only when slow tests are selected; the classifier directory (``drl_model``) never
    is: a ``conftest.py`` or ``test_*.py`` in it is data, not tests."""
    drl = config.stash.get(CONFIG_KEY, None)
    model_dir = getattr(drl, "model_dir", None)
    if model_dir is not None and (collection_path == model_dir or Path(model_dir) in collection_path.parents):
        return True
    if collection_path == GOLDEN_MODULE:
        if drl is None or (drl.golden_save is None and drl.golden_compare is None):
            return True
    if collection_path == AUDIT_MODULE and not (getattr(drl, "run_slow", False)
                                                or _selects_slow(config.getoption("markexpr", ""))):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[CONFIG_KEY].run_slow or _selects_slow(config.getoption("markexpr", "")):
        return
    skip = pytest.mark.skip(reason=SLOW_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def _parametrized_by_user(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        argnames = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(argnames, str):
            argnames = [part.strip() for part in argnames.split(",")]
        if name in argnames:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "reward_backend" in metafunc.fixturenames and not _parametrized_by_user(metafunc, "reward_backend"):
        backends = list(metafunc.config.stash[CONFIG_KEY].backends)
        metafunc.parametrize("reward_backend", backends, ids=backends, indirect=True)
