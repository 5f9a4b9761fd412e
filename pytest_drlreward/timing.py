"""Latency measurement for reward backends, and the session's timing table.

``drl_timing.measure(backend, images)`` returns the median milliseconds of ``backend.logits(images)``
and records (backend, batch, median ms) on the test; the plugin gathers the records from every test
report (so xdist workers' rows reach the controller), prints them as a table and can write them as
JSON. Nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

USER_PROPERTY = "drlreward_timing"  # user_properties key of one recorded row
REFERENCE = "torch"


def median_ms(call: Callable[[], Any], rounds: int = 50, warmup: int = 10) -> float:
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


class TimingRecorder:
    """Measures backends and records each result on the current test (``drl_timing`` fixture)."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def measure(self, backend: Any, images: Any, rounds: int = 50, warmup: int = 10) -> float:
        """Median ms of ``backend.logits(images)``; records (backend name, batch size, median ms)."""
        ms = median_ms(lambda: backend.logits(images), rounds, warmup)
        row = {"backend": str(getattr(backend, "name", type(backend).__name__)), "batch": int(len(images)),
               "median_ms": ms}
        self._node.user_properties.append((USER_PROPERTY, row))
        return ms


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


def write_json(path: Path, summary: list[dict]) -> None:
    """Write ``summary`` to ``path`` as JSON through a temporary file in the same directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(summary, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
