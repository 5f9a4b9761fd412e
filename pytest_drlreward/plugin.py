"""The pytest plugin (entry point ``pytest11: drlreward``): options, markers, hooks and the summary.

Loading it imports only the standard library and pytest; torch, ONNX Runtime, OpenVINO, PyBullet and
Gymnasium are imported by fixtures when a test asks for them (Gymnasium also when ``drl_env`` names
a plain id, to check it is registered).
"""

from __future__ import annotations

import json
import re

import pytest

from pytest_drlreward import recording, timing
from pytest_drlreward.atomic import write_text_atomic
from pytest_drlreward.fixtures import (  # noqa: F401  (imported so pytest registers them with the plugin)
    _drl_backend_cache,
    drl_config,
    drl_env,
    drl_env_factory,
    drl_parity,
    drl_timing,
    labelled_images,
    reference_backend,
    reward_backend,
)
from pytest_drlreward.options import CONFIG_KEY, add_options, read_config

MARKERS = {
    "parity": "checks that reward backends agree with the Torch reference (pytest-drlreward)",
    "timing": "measures backend latency for the timing table; never asserts a time (pytest-drlreward)",
    "slow": "slow test, skipped unless selected with -m slow or --drl-run-slow (pytest-drlreward)",
}
SLOW_SKIP_REASON = "slow test: run with -m slow or --drl-run-slow"


class SessionRecords:
    """What this run's tests recorded (timing rows, parity lines), printed in the terminal summary.

    Tests record on ``item.user_properties``, which travel with xdist's reports, so the controller
    sees every worker's records in ``pytest_runtest_logreport``; only the controller (or a run
    without xdist) prints them and writes ``--drl-timing-json``.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.timing_rows: list[dict] = []
        self.parity_lines: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":  # the teardown report holds everything the test recorded
            return
        for key, value in report.user_properties:
            if key == recording.TIMING_PROPERTY:
                self.timing_rows.append(dict(value))
            elif key == recording.PARITY_PROPERTY:
                self.parity_lines.append(str(value))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.stash[CONFIG_KEY].timing_json
        if path is not None and not _is_xdist_worker(self.config):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(timing.summarise(self.timing_rows), indent=2) + "\n")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if _is_xdist_worker(self.config):
            return
        if self.timing_rows:
            terminalreporter.write_sep("-", "drlreward timing")
            for line in timing.table_lines(timing.summarise(self.timing_rows)):
                terminalreporter.write_line(line)
        if self.parity_lines:
            terminalreporter.write_sep("-", "drlreward parity")
            for line in self.parity_lines:
                terminalreporter.write_line(line)


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


def pytest_unconfigure(config: pytest.Config) -> None:
    records = config.stash.get(RECORDS_KEY, None)
    if records is not None and config.pluginmanager.is_registered(records):
        config.pluginmanager.unregister(records)


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
