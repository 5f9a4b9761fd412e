"""What the plugin's fixtures record on a test for the terminal summary.

Records go to ``item.user_properties`` as ``(PROPERTY, line)``, which travel with xdist's reports, so
the controller sees every worker's records. ``drl_parity.check(reference, candidate, images, source=...)``
judges a candidate the way its kind demands (elementwise tolerance for exact backends, argmax agreement
for quantized ones) and records one line per (candidate, reference, source) when the test ends, passed
or not (failed rows start with ``FAILED``). ``drl_timing.measure(backend, images)`` records a timing row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
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
COVERAGE_PROPERTY = "drlreward_coverage"  # what a check's verdict rests on (inputs, states, sources): the coverage table
ACCEPTED_PROPERTY = "drlreward_accepted"  # a check whose accepted gap (drl_allow_unverified) a test used
FAILED_MARK = "FAILED "


def record(node: pytest.Item, key: str, line: str, passed: bool = True) -> None:
    """Record a summary line on ``node``; failed lines start with ``FAILED``."""
    node.user_properties.append((key, ("" if passed else FAILED_MARK) + line))


def merge_reports(reports: Sequence[Any]) -> Any:
    """One ParityReport for several checks of the same pair: image counts add, worst errors win."""
    from pytest_drlreward.checks import ParityReport

    first = reports[0]
    combined = {name: how(getattr(r, name) for r in reports) for name, how in _PARITY_COMBINE.items()}
    return ParityReport(names=first.names, atol=first.atol, rtol=first.rtol, what=first.what, rule=first.rule, **combined)


# how merge_reports combines each counted field of a ParityReport (the others are the first report's)
_PARITY_COMBINE = {"n_images": sum, "max_abs_error": max, "max_rel_error": max, "argmax_disagreements": sum,
                   "n_mismatched": sum, "n_elements": sum, "min_atol": max, "min_rtol": max, "passed": all}


def merge_decision_reports(reports: Sequence[Any]) -> Any:
    """One DecisionParityReport for several checks of the same pair."""
    from pytest_drlreward.checks import DecisionParityReport, Proportion

    first = reports[0]
    flips = Proportion(sum(r.flips.successes for r in reports), sum(r.flips.trials for r in reports))
    return DecisionParityReport(first.reference, first.candidate, first.source, flips,
                                max(r.max_logit_diff for r in reports), first.max_flip_rate, rule=first.rule,
                                unit=first.unit)


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
        self._sources: dict[str, str] = {}  # source label -> where the env gave the inputs (a Rollout's sources)

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
        sources = getattr(args[0] if args else None, "sources", None)
        if sources:  # a Rollout: the summary names where its inputs came from
            from pytest_drlreward.plugin.verdicts import describe_sources

            self._sources[label] = describe_sources(dict(sources))
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
                    line += f" (the failing check; {len(reports)} checks, {sum(r.n_images for r in reports)} {reports[0].what} in all)"
            elif reports:
                merged = merge_reports(reports) if kind == "parity" else merge_decision_reports(reports)
                line = f"{kind}: {merged}{suffix}"
            else:
                line = f"{kind}: {candidate} vs {reference}{suffix}: {self._failures[key]}"
            record(self._node, PARITY_PROPERTY, line, passed=not failed)
            if reports:
                self._record_coverage(kind, source, reports)

    def _record_coverage(self, kind: str, source: str, reports: list[Any]) -> None:
        """What the coverage table says this check rests on: how many inputs, from where."""
        count = sum(getattr(r, "n_images", None) or getattr(getattr(r, "flips", None), "trials", 0) for r in reports)
        batches = f" in {len(reports)} drawn batches" if len(reports) > 1 else ""
        where = f" ({self._sources[source]})" if source in self._sources else ""
        self._node.user_properties.append((COVERAGE_PROPERTY, f"{kind}: {count} {source or 'inputs'}{batches}{where}"))


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
        name = str(getattr(backend, "name", type(backend).__name__))
        threads = None if ":" in name else self._threads(backend)  # a module:function reference: threads not set
        row = {"backend": name, "batch": batch_len(images),
               "median_ms": sample.median_ms, "min_ms": sample.min_ms, "max_ms": sample.max_ms,
               "q1_ms": sample.q1_ms, "q3_ms": sample.q3_ms, "threads": threads,
               "xdist_workers": self._workers}
        self._node.user_properties.append((TIMING_PROPERTY, row))
        return sample.median_ms


class FailureReports:
    """Failed checks, short and replayable (registered by the plugin).

    Each failing check's input (``error.replay``) is saved under ``drl_replay/`` and its report names the
    command that replays it. At default verbosity with ``--tb=auto`` a check's failure is its message and
    the test line, without plugin source or fixture values; ``-v`` (or another ``--tb``) keeps pytest's
    report and adds the command. A wrong candidate fails in full once per backend pair (see
    :mod:`pytest_drlreward.plugin.failure_text`).
    """

    def __init__(self, config: pytest.Config) -> None:
        from pytest_drlreward.plugin.failure_text import Causes

        self.config = config
        self.causes = Causes()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        from pytest_drlreward.plugin.failure_text import failure_lines
        from pytest_drlreward.plugin.options import CONFIG_KEY

        report = yield
        error = call.excinfo.value if call.excinfo is not None else None
        if not (report.failed and call.when == "call" and isinstance(error, CheckError)):
            return report
        saved, replay = self._save(item, error)
        replay = replay or (f"failing input saved: {saved}" if saved else "")
        if self.config.getoption("verbose") > 0 or self.config.getoption("tbstyle") != "auto":
            if replay:
                report.sections.append(("drlreward replay", replay))
        else:
            reference = getattr(self.config.stash.get(CONFIG_KEY, None), "reference", None)
            lines = failure_lines(error, replay, self.causes.owner(error, item.nodeid, reference))
            report.longrepr = "\n".join([*lines, _location(item, call.excinfo, error)])
        return report

    def _save(self, item: pytest.Item, error: CheckError) -> tuple[Any, str]:
        """(where the failing input was saved or None, the replay command or '')."""
        from pytest_drlreward.plugin.failure_text import REPLAY_DIR, case_file_name
        from pytest_drlreward.plugin.options import CONFIG_KEY
        from pytest_drlreward.replay import command, save_case

        case = getattr(error, "replay", None)
        drl = self.config.stash.get(CONFIG_KEY, None)
        if case is None or drl is None:
            return None, ""
        base = drl.plots if drl.plots is not None else self.config._tmp_path_factory.getbasetemp()
        try:
            directory = Path(base) / REPLAY_DIR
            directory.mkdir(parents=True, exist_ok=True)
            path = save_case(case, directory / case_file_name(item.name))
        except OSError as failure:
            return None, f"(the failing input could not be saved: {failure})"
        reference, candidate = case.settings.get("reference"), case.settings.get("candidate")
        if drl.model_dir is None or candidate not in (*drl.backends, drl.reference) or reference not in (None, drl.reference):
            return path, ""
        options = {key: value for key, value in drl.options(candidate).items() if key != "threads"}
        return path, "replay: " + command(path, drl.model_dir, candidate, reference, trust_code=drl.trust_code,
                                          options=options if ":" not in candidate else None)


def _location(item: pytest.Item, excinfo: Any, error: CheckError) -> str:
    """``path:line: ErrorName`` of the test's line that failed (the test's definition when none is in the traceback)."""
    path, line = Path(item.path), (item.location[1] or 0) + 1
    for entry in excinfo.traceback.filter(excinfo):
        if Path(entry.path) == path:
            line = entry.lineno + 1
    shown = path.relative_to(item.config.rootpath) if path.is_relative_to(item.config.rootpath) else path
    return f"{shown}:{line}: {type(error).__name__}"
