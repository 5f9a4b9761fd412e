"""Latency measurement, the timing table of reward backends, and timing baselines.

Usable from any script (no pytest here); the plugin's ``drl_timing`` fixture records rows made with
:func:`measure` and prints ``table_lines(summarise(rows))``. Nothing here asserts a time. A baseline
(:func:`baseline_from`) stores each backend's latency as a ratio to the reference at the same batch,
not absolute times, so a baseline from one machine or load still compares on another;
:func:`compare_with_baseline` lists the ratios that grew beyond a margin.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pytest_drlreward.backends import REFERENCE_BACKEND as REFERENCE
from pytest_drlreward.util.validation import check_int

BASELINE_FORMAT = 1
DEFAULT_MARGIN = 0.5  # a ratio may grow by 50% before it counts as a regression
MAX_RATIO = 1e6  # a baseline ratio beyond it (or below its inverse) is refused: no backend is a million times slower


@dataclass(frozen=True)
class TimingSample:
    """Quantiles of timed calls in milliseconds."""

    median_ms: float
    min_ms: float
    max_ms: float
    q1_ms: float
    q3_ms: float
    rounds: int


def measure(call: Callable[[], Any], rounds: int = 50, warmup: int = 5) -> TimingSample:
    """Wall time of ``call()`` over ``rounds`` calls after ``warmup`` calls: median, min, max, quartiles (ms)."""
    check_int(rounds, "rounds")
    check_int(warmup, "warmup", low=0)
    for _ in range(warmup):
        call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else (times[0],) * 3
    return TimingSample(statistics.median(times), min(times), max(times), q1, q3, rounds)


def median_ms(call: Callable[[], Any], rounds: int = 50, warmup: int = 5) -> float:
    """Median wall time of ``call()`` in milliseconds over ``rounds`` calls, after ``warmup`` calls."""
    return measure(call, rounds, warmup).median_ms


def summarise(rows: Iterable[dict], reference: str = REFERENCE) -> list[dict]:
    """One row per (backend, batch): median of the medians, spread, and speed-up over ``reference`` (the
    run's parity reference: Torch by default, an engine or a ``module:function`` callable).

    A row may carry ``min_ms``/``max_ms``/``q1_ms``/``q3_ms`` (kept: the smallest min, largest max, median
    quartiles), ``threads`` and ``xdist_workers``. ``speedup_vs_torch`` (named when Torch was the only
    reference; kept for timing files) is ``reference``'s median ms at the same batch divided by the
    backend's (``None`` when the reference was not measured at that batch); ``reference`` names it.
    """
    grouped: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        grouped.setdefault((row["backend"], int(row["batch"])), []).append(row)
    medians = {key: statistics.median(float(r["median_ms"]) for r in group) for key, group in grouped.items()}
    summary = []
    for backend, batch in sorted(medians, key=lambda key: (key[1], key[0] != reference, key[0])):
        group = grouped[(backend, batch)]
        ms = medians[(backend, batch)]
        torch_ms = medians.get((reference, batch))

        def spread(key: str, pick: Callable[..., float], group: list[dict] = group) -> float | None:
            values = [float(r[key]) for r in group if r.get(key) is not None]
            return pick(values) if values else None

        summary.append({
            "backend": backend, "batch": batch, "median_ms": ms,
            "min_ms": spread("min_ms", min), "max_ms": spread("max_ms", max),
            "q1_ms": spread("q1_ms", statistics.median), "q3_ms": spread("q3_ms", statistics.median),
            "speedup_vs_torch": (torch_ms / ms) if torch_ms and ms > 0 else None, "reference": reference,
            "measurements": len(group),
            "threads": next((r["threads"] for r in group if r.get("threads") is not None), None),
            "xdist_workers": max((int(r.get("xdist_workers") or 0) for r in group), default=0),
        })
    return summary


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table_lines(summary: list[dict]) -> list[str]:
    """The timing table as text lines (header first; a note when measured under xdist). The speed-up column
    is named after the rows' reference; a backend whose threads the plugin does not set shows ``-``."""
    reference = next((row["reference"] for row in summary if row.get("reference")), REFERENCE)
    width = max(19, len(reference) + 15)
    lines = [f"{'backend':<15}{'batch':>6}{'median ms':>11}{'IQR ms':>19}{'min-max ms':>19}{'threads':>8}"
             f"{'speed-up vs ' + reference:>{width}}"]
    for row in summary:
        ratio = "-" if row["speedup_vs_torch"] is None else f"{row['speedup_vs_torch']:.2f}x"
        iqr = f"{_ms(row.get('q1_ms'))}-{_ms(row.get('q3_ms'))}" if row.get("q1_ms") is not None else "-"
        span = f"{_ms(row.get('min_ms'))}-{_ms(row.get('max_ms'))}" if row.get("min_ms") is not None else "-"
        threads = "-" if row.get("threads") is None else str(row["threads"])
        lines.append(f"{row['backend']:<15}{row['batch']:>6}{row['median_ms']:>11.3f}{iqr:>19}{span:>19}{threads:>8}"
                     f"{ratio:>{width}}")
    workers = max((row.get("xdist_workers") or 0 for row in summary), default=0)
    if workers:
        lines.append(f"measured under pytest-xdist with {workers} workers: other tests ran at the same time, so times "
                     f"are high and noisy; run -p no:xdist -m timing for numbers to quote")
    return lines


# --------------------------------------------------------------------------- baselines


def _key(backend: str, batch: int) -> str:
    return f"{backend}@{batch}"


def baseline_from(summary: list[dict]) -> dict:
    """A baseline: for each (backend, batch) with a reference time, backend ms / reference ms."""
    ratios = {_key(row["backend"], row["batch"]): 1.0 / row["speedup_vs_torch"]
              for row in summary if row["speedup_vs_torch"]}
    reference = next((row["reference"] for row in summary if row.get("reference")), REFERENCE)
    return {"format": BASELINE_FORMAT, "reference": reference, "ratios": ratios}


@dataclass(frozen=True)
class TimingComparison:
    """A backend's latency ratio to the reference, now and in the baseline."""

    key: str
    baseline: float
    current: float
    margin: float

    @property
    def regressed(self) -> bool:
        return self.current > self.baseline * (1.0 + self.margin)

    def __str__(self) -> str:
        change = self.current / self.baseline - 1.0
        verdict = "REGRESSION" if self.regressed else "ok"
        return (f"{self.key}: {self.current:.3f}x the reference's time (baseline {self.baseline:.3f}x, "
                f"{change:+.0%}; allowed +{self.margin:.0%}) {verdict}")


def check_baseline(baseline: Any) -> dict[str, float]:
    """The ratios of a baseline, each a finite positive number; ValueError naming the first bad entry."""
    if not isinstance(baseline, dict) or baseline.get("format") != BASELINE_FORMAT or not isinstance(baseline.get("ratios"), dict):
        raise ValueError(f"not a timing baseline of format {BASELINE_FORMAT} (write one with --drl-timing-save)")
    ratios = {}
    for key, value in baseline["ratios"].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"ratio {key!r} is {value!r}: a baseline ratio must be a finite positive number "
                             f"(write the baseline again with --drl-timing-save)")
        if not 1 / MAX_RATIO <= value <= MAX_RATIO:
            raise ValueError(f"ratio {key!r} is {value!r}: a latency ratio beyond {MAX_RATIO:g} (or below "
                             f"{1 / MAX_RATIO:g}) times the reference's is no measurement, and against it nothing "
                             f"could ever regress (write the baseline again with --drl-timing-save)")
        ratios[str(key)] = float(value)
    if not ratios:
        raise ValueError("the baseline holds no ratios (write one from a run that measured, with --drl-timing-save)")
    return ratios


def compare_with_baseline(summary: list[dict], baseline: dict, margin: float = DEFAULT_MARGIN) -> tuple[list[TimingComparison], list[str]]:
    """Compare this run's ratios with ``baseline``'s: (comparisons, notes on rows that could not be compared).

    ValueError for a baseline with a NaN, infinite, zero or negative ratio, and when nothing was
    measured that the baseline holds (a comparison of nothing is no pass).
    """
    ratios = check_baseline(baseline)
    current = baseline_from(summary)["ratios"]
    if not current:
        raise ValueError("nothing was measured in this run, so nothing was compared (run the timing tests: "
                         "-m timing, or do not deselect them)")
    comparisons = [TimingComparison(key, old, current[key], margin) for key, old in sorted(ratios.items()) if key in current]
    if not comparisons:
        raise ValueError(f"no ratio measured now ({', '.join(sorted(current))}) is in the baseline "
                         f"({', '.join(sorted(ratios))})")
    notes = [f"{key}: in the baseline, not measured now" for key in sorted(baseline["ratios"]) if key not in current]
    notes += [f"{key}: measured now, not in the baseline" for key in sorted(current) if key not in baseline["ratios"]]
    return comparisons, notes
