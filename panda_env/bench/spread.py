"""The spread of benchmark figures: interquartile ranges beside ratios, and warnings a reader must see.

A ratio of two medians hides how much each timing moved. ``ratio_iqr`` gives the range a ratio spans
between the quartiles of its two samples (numerator's Q1 over denominator's Q3 up to Q3 over Q1), so
``2.9x (IQR 2.1-3.8x)`` says how sure the 2.9 is. ``noise_warnings`` says when a spread reaches the value
of no effect (1x, 0%), so the effect may be noise, and when the machine's load average is above its cores (then every
absolute time, and ratios of runs measured apart, move). Nothing here prints.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """A figure with the interquartile range it spans (``low``/``high`` are None with fewer than 2 samples)."""

    value: float
    low: float | None
    high: float | None

    @property
    def width(self) -> float | None:
        return None if self.low is None or self.high is None else self.high - self.low


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(Q1, median, Q3) of ``values`` (inclusive method; one value is its own quartiles)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("quartiles of no values")
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def sample_spread(values: Sequence[float]) -> Spread:
    """The median of ``values`` and its IQR."""
    q1, median, q3 = quartiles(values)
    return Spread(median, q1, q3) if len(values) > 1 else Spread(median, None, None)


def ratio_iqr(numerator: Sequence[float], denominator: Sequence[float]) -> Spread:
    """``median(numerator) / median(denominator)`` and the range the ratio spans between their quartiles."""
    n1, n2, n3 = quartiles(numerator)
    d1, d2, d3 = quartiles(denominator)
    if min(d1, d2, d3) <= 0:
        raise ValueError(f"the denominator's timings must be positive, got quartiles {d1}, {d2}, {d3}")
    if len(numerator) < 2 and len(denominator) < 2:
        return Spread(n2 / d2, None, None)
    return Spread(n2 / d2, n1 / d3, n3 / d1)


def _format(spread: Spread | None, digits: int, unit: str) -> str:
    if spread is None:
        return "-"
    if spread.width is None:
        return f"{spread.value:.{digits}f}{unit}"
    return f"{spread.value:.{digits}f}{unit} (IQR {spread.low:.{digits}f}-{spread.high:.{digits}f}{unit})"


def format_ratio(spread: Spread | None) -> str:
    """``2.94x (IQR 2.10-3.80x)``, or ``2.94x`` without a spread, ``-`` for none."""
    return _format(spread, 2, "x")


def format_percent(spread: Spread | None) -> str:
    """``6.5% (IQR 2.0-9.1%)`` for a spread of percentages."""
    return _format(spread, 1, "%")


def spread_reaches_no_effect(spread: Spread, no_effect: float) -> bool:
    """True when the IQR reaches ``no_effect`` (1 for a ratio, 0 for a saving): the figure may be noise.

    A wide interval far from it (``10.60x (IQR 8.25-20.90x)``) is still a clear effect."""
    return spread.width is not None and spread.low <= no_effect <= spread.high


def load_warning(load: float | None = None, cores: int | None = None) -> str | None:
    """A warning when the 1-minute load average is above the cores (``None`` reads this machine's)."""
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # not on every platform
            return None
    cores = cores or os.cpu_count() or 1
    if load <= cores:
        return None
    return (f"WARNING: the machine is busy: load average {load:.1f} on {cores} cores; other jobs share the CPU, "
            f"so times move and ratios of runs measured apart may contradict each other; rerun on a quiet machine")


def noise_warnings(figures: dict[str, tuple[Spread, float]], load: float | None = None,
                   cores: int | None = None) -> list[str]:
    """Warnings for the ``figures`` (label -> (spread, no-effect value)) whose IQR reaches their no-effect
    value, and for a load average above the cores."""
    warnings = []
    noisy = [label for label, (spread, no_effect) in figures.items() if spread_reaches_no_effect(spread, no_effect)]
    if noisy:
        warnings.append(f"WARNING: the spread (IQR) reaches no effect (1x for a speed-up, 0% for a saving) for "
                        f"{', '.join(noisy)}: these differences are within the noise of the measurement; raise "
                        f"--rounds/--runs or rerun on a quiet machine")
    busy = load_warning(load, cores)
    if busy:
        warnings.append(busy)
    return warnings


def keyed_spread(row: dict, key: str) -> Spread | None:
    """The figure ``row[key]`` with the IQR stored as ``row[key + "_iqr"]`` (``[low, high]``), if any."""
    value = row.get(key)
    if value is None:
        return None
    low, high = row.get(f"{key}_iqr") or (None, None)
    return Spread(value, low, high)
