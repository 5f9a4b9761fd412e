"""Latency measurement: the median of timed calls, and the timing table of reward backends.

Usable from any script (no pytest here); the plugin's ``drl_timing`` fixture records rows made with
``median_ms`` and prints ``table_lines(summarise(rows))``. Nothing here asserts a time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

from pytest_drlreward.backends import REFERENCE_BACKEND as REFERENCE


def median_ms(call: Callable[[], Any], rounds: int = 50, warmup: int = 5) -> float:
    """Median wall time of ``call()`` in milliseconds over ``rounds`` calls, after ``warmup`` calls."""
    if rounds < 1 or warmup < 0:
        raise ValueError(f"rounds must be >= 1 and warmup >= 0, got rounds={rounds}, warmup={warmup}")
    for _ in range(warmup):
        call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def summarise(rows: Iterable[dict]) -> list[dict]:
    """One row per (backend, batch): the median of its measurements and its speed-up over Torch.

    ``speedup_vs_torch`` is Torch's median ms at the same batch divided by the backend's (``None``
    when Torch was not measured at that batch).
    """
    grouped: dict[tuple[str, int], list[float]] = {}
    for row in rows:
        grouped.setdefault((row["backend"], row["batch"]), []).append(float(row["median_ms"]))
    medians = {key: statistics.median(values) for key, values in grouped.items()}
    summary = []
    order = sorted(medians, key=lambda key: (key[1], key[0] != REFERENCE, key[0]))  # by batch, Torch first
    for backend, batch in order:
        ms = medians[(backend, batch)]
        torch_ms = medians.get((REFERENCE, batch))
        summary.append({"backend": backend, "batch": batch, "median_ms": ms,
                        "speedup_vs_torch": (torch_ms / ms) if torch_ms and ms > 0 else None,
                        "measurements": len(grouped[(backend, batch)])})
    return summary


def table_lines(summary: list[dict]) -> list[str]:
    """The timing table as text lines (header first)."""
    lines = [f"{'backend':<14}{'batch':>6}{'median ms':>12}{'speed-up vs torch':>20}"]
    for row in summary:
        ratio = "-" if row["speedup_vs_torch"] is None else f"{row['speedup_vs_torch']:.2f}x"
        lines.append(f"{row['backend']:<14}{row['batch']:>6}{row['median_ms']:>12.3f}{ratio:>20}")
    return lines
