"""``AuditReport``: what an audit of a learned reward against the truth found over a training run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_drlreward.audit.tally import Counts, Window


@dataclass(frozen=True)
class AuditReport:
    """The audit of one run.

    ``onset_step``: the first training step of the window where exploitation set in, or None;
    ``windows``: every window of training steps with its counts; ``counts``: the whole run's;
    ``false_goals_seen`` and ``false_goals_kept``: how many there were and how many were kept;
    ``saved``: the directory holding ``audit.json`` and ``false_goals.npz``, once saved;
    ``max_share``, ``min_false_goals``: the onset rule; ``decision``: what the learned reward and the
    truth were read from.
    """

    onset_step: int | None
    windows: tuple[Window, ...]
    counts: Counts
    false_goals_seen: int
    false_goals_kept: int
    max_share: float
    min_false_goals: int
    decision: str
    saved: Path | None = None
    paths: dict[str, str] = field(default_factory=dict)  # name -> file, e.g. "picture", "frames", "json"

    @property
    def onset(self) -> Window | None:
        """The onset window, or None."""
        return next((w for w in self.windows if w.start == self.onset_step), None) if self.onset_step else None

    @property
    def exploited(self) -> bool:
        return self.onset_step is not None

    def lines(self) -> list[str]:
        """A few lines for a person: the verdict, the onset window's numbers, the whole run's, where the frames are."""
        share = self.counts.false_goal_share
        head = (f"reward audit ({self.decision}): {self.counts.text()}; false-goal share among learned successes "
                f"{share.text(percent=True)}")
        onset = self.onset
        if onset is None:
            verdict = (f"no onset of exploitation: no window of {self._width()} steps had a false-goal share whose 95% "
                       f"interval lies above {self.max_share:.0%} (with at least {self.min_false_goals} false goals)")
        else:
            c = onset.counts
            verdict = (f"EXPLOITATION from step {onset.start}: in steps {onset.start}-{onset.end} the learned reward "
                       f"called {c.learned} states goal, {c.false_goals} of them false ({c.false_goal_share.text(percent=True)}, "
                       f"above {self.max_share:.0%}); learned success {c.learned_success.text()}, true success "
                       f"{c.true_success.text()}")
        out = [verdict, head]
        if self.saved is not None:
            out.append(f"{self.false_goals_kept} of {self.false_goals_seen} false goals saved in {self.saved}")
        out += [f"{name}: {path}" for name, path in self.paths.items() if name not in ("json", "frames")]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _width(self) -> int:
        return self.windows[0].end - self.windows[0].start + 1 if self.windows else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: for ``audit.json`` and a training run's report."""
        from dataclasses import asdict

        return {"onset_step": self.onset_step, "exploited": self.exploited, "max_share": self.max_share,
                "min_false_goals": self.min_false_goals, "decision": self.decision, "counts": asdict(self.counts),
                "false_goals_seen": self.false_goals_seen, "false_goals_kept": self.false_goals_kept,
                "saved": None if self.saved is None else str(self.saved), "paths": dict(self.paths),
                "windows": [w.as_dict() for w in self.windows]}
