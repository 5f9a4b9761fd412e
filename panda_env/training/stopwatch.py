"""The one timing primitive of the benchmarks: the median wall time of a call."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def median_ms(fn: Callable[[], object], rounds: int, warmup: int = 5) -> float:
    """Median wall time of ``fn()`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = np.empty(rounds)
    for i in range(rounds):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return float(np.median(times) * 1000.0)
