"""Proportions with 95% Wilson score intervals (the interval that stays sensible at 0/n and n/n)."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``successes``/``trials``; ``(0.0, 1.0)`` when ``trials`` is 0."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes}/{trials}")
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    center = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


@dataclass(frozen=True)
class Proportion:
    """``successes`` out of ``trials``, its value (``nan`` for 0 trials) and 95% Wilson interval."""

    successes: int
    trials: int

    @property
    def value(self) -> float:
        return self.successes / self.trials if self.trials else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.trials)

    def text(self, digits: int = 3, percent: bool = False) -> str:
        """e.g. ``0.955 [0.78, 0.99] (21/22)`` or, with ``percent``, ``0.07% [0.01%, 0.38%] (1/1478)``."""
        if not self.trials:
            return "n/a (0/0)"
        low, high = self.interval
        if percent:
            return (f"{100 * self.value:.{digits - 1}f}% [{100 * low:.{digits - 1}f}%, {100 * high:.{digits - 1}f}%] "
                    f"({self.successes}/{self.trials})")
        return f"{self.value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}] ({self.successes}/{self.trials})"
