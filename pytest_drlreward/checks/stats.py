"""Proportions with 95% Wilson score intervals (the interval that stays sensible at 0/n and n/n).

States of one episode are not independent (19 goal states from 2 reset seeds are closer to 2 samples than
19), so a proportion may keep its clusters, ``(successes, trials)`` per episode: its interval is then the
Wilson interval on Kish's effective sample size ``n / deff``, the design effect ``deff`` estimated from the
between-episode variance of the ratio estimator (at least 1, at most ``sum(m_i^2) / n``, what identical
states within each episode would give). With fewer than 2 episodes, or 0/n and n/n (no variance to
estimate it from), ``deff`` is 1: the plain interval; the text always says how many episodes the states
came from, so a reader sees "23/23 in 2 episodes".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: float, trials: float, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``successes``/``trials`` (an effective, non-integer size works too);
    ``(0.0, 1.0)`` when ``trials`` is 0."""
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


def design_effect(clusters: Sequence[tuple[int, int]]) -> float:
    """Kish's design effect of a proportion over ``clusters`` ((successes, trials) each; see the module)."""
    clusters = [(s, m) for s, m in clusters if m > 0]
    n = sum(m for _, m in clusters)
    successes = sum(s for s, _ in clusters)
    if len(clusters) < 2 or successes in (0, n):
        return 1.0
    p, k = successes / n, len(clusters)
    clustered = k / (k - 1) * sum((s - p * m) ** 2 for s, m in clusters) / n**2
    return min(max(clustered / (p * (1.0 - p) / n), 1.0), sum(m * m for _, m in clusters) / n)


def clusters_of(hits: Any, eligible: Any, groups: Any) -> tuple[tuple[int, int], ...]:
    """``(successes, trials)`` per group (e.g. episode) of the ``eligible`` states; ``hits`` the successes."""
    import numpy as np

    hits, eligible, groups = (np.asarray(a) for a in (hits, eligible, groups))
    return tuple((int(np.sum(hits & eligible & (groups == g))), int(np.sum(eligible & (groups == g))))
                 for g in np.unique(groups[eligible]))


@dataclass(frozen=True)
class Proportion:
    """``successes`` out of ``trials``, its value (``nan`` for 0 trials) and 95% Wilson interval; with
    ``clusters`` (per episode), the interval accounts for the clustering (see the module)."""

    successes: int
    trials: int
    clusters: tuple[tuple[int, int], ...] = field(default=(), compare=False)  # equal counts: equal proportions

    @classmethod
    def of(cls, hits: Any, eligible: Any, groups: Any = None) -> Proportion:
        """The share of ``eligible`` states (bool array) that are ``hits``, clustered by ``groups`` when given."""
        import numpy as np

        hits, eligible = np.asarray(hits, dtype=bool), np.asarray(eligible, dtype=bool)
        clusters = () if groups is None else clusters_of(hits, eligible, groups)
        return cls(int(np.sum(hits & eligible)), int(np.sum(eligible)), clusters)

    def __add__(self, other: Proportion) -> Proportion:
        """Both proportions' states together (their clusters kept apart)."""
        return Proportion(self.successes + other.successes, self.trials + other.trials, self.clusters + other.clusters)

    @property
    def value(self) -> float:
        return self.successes / self.trials if self.trials else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        if not self.clusters:
            return wilson_interval(self.successes, self.trials)
        effective = self.trials / design_effect(self.clusters)
        return wilson_interval(self.value * effective if self.trials else 0.0, effective)

    def _count(self) -> str:
        episodes = sum(1 for _, m in self.clusters if m > 0)
        return f"{self.successes}/{self.trials}" + (f" in {episodes} episodes" if self.clusters else "")

    def text(self, digits: int = 3, percent: bool = False) -> str:
        """e.g. ``0.955 [0.78, 0.99] (21/22)`` or, with ``percent``, ``0.07% [0.01%, 0.38%] (1/1478)``."""
        if not self.trials:
            return "n/a (0/0)"
        low, high = self.interval
        if percent:
            return (f"{100 * self.value:.{digits - 1}f}% [{100 * low:.{digits - 1}f}%, {100 * high:.{digits - 1}f}%] "
                    f"({self._count()})")
        return f"{self.value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}] ({self._count()})"
