"""Counting a learned reward against the truth while an agent trains: per window of training steps and per
episode, and the onset of exploitation.

A step is a *learned success* when the learned reward calls it goal, a *true success* when the env's
truth does; a *false goal* is learned yes and truth no, a *missed goal* truth yes and learned no. An
episode counts once for each kind it saw. The onset of exploitation is the first window whose false-goal
share among its learned successes has a 95% Wilson interval whose lower end is above ``max_share``
(and holds at least ``min_false_goals`` false goals, so one boundary error in a quiet window is not an
onset). Standard library only, besides this package's Wilson interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_drlreward.checks.stats import Proportion

DEFAULT_WINDOW_STEPS = 500
DEFAULT_MAX_SHARE = 0.05
DEFAULT_MIN_FALSE_GOALS = 3


@dataclass
class Counts:
    """Steps and episodes of one stretch of training, by what the learned reward and the truth said."""

    steps: int = 0
    learned: int = 0
    true: int = 0
    false_goals: int = 0
    missed: int = 0
    episodes: int = 0
    learned_episodes: int = 0
    true_episodes: int = 0
    false_goal_episodes: int = 0

    def add_step(self, learned: bool, true: bool) -> None:
        self.steps += 1
        self.learned += learned
        self.true += true
        self.false_goals += learned and not true
        self.missed += true and not learned

    def add_episode(self, learned: bool, true: bool, false_goal: bool) -> None:
        self.episodes += 1
        self.learned_episodes += learned
        self.true_episodes += true
        self.false_goal_episodes += false_goal

    def merge(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def false_goal_share(self) -> Proportion:
        """False goals among the steps the learned reward called goal."""
        return Proportion(self.false_goals, self.learned)

    @property
    def learned_success(self) -> Proportion:
        """Episodes in which the learned reward saw a goal (steps, when no episode ended)."""
        return Proportion(self.learned_episodes, self.episodes) if self.episodes else Proportion(self.learned, self.steps)

    @property
    def true_success(self) -> Proportion:
        """Episodes that truly reached the goal (steps, when no episode ended)."""
        return Proportion(self.true_episodes, self.episodes) if self.episodes else Proportion(self.true, self.steps)

    def text(self) -> str:
        return (f"{self.steps} steps, {self.episodes} episodes: {self.learned} learned successes, {self.true} true, "
                f"{self.false_goals} false goals, {self.missed} missed goals")


@dataclass
class Window:
    """Training steps ``start`` to ``end`` (first and last, 1-based as SB3's ``num_timesteps``) and their counts."""

    start: int
    end: int
    counts: Counts = field(default_factory=Counts)

    def exploited(self, max_share: float, min_false_goals: int) -> bool:
        """Whether this window shows exploitation (see the module docstring)."""
        share = self.counts.false_goal_share
        return self.counts.false_goals >= min_false_goals and share.interval[0] > max_share

    def as_dict(self) -> dict[str, Any]:
        c = self.counts
        return {"start": self.start, "end": self.end, **asdict(c),
                "learned_success": c.learned_success.value if c.learned_success.trials else None,
                "true_success": c.true_success.value if c.true_success.trials else None,
                "false_goal_share": c.false_goal_share.value if c.learned else None,
                "false_goal_share_interval": list(c.false_goal_share.interval)}


class Tally:
    """Windows of ``window_steps`` training steps, the totals and the onset, fed one step at a time.

    ``add(step, learned, true)`` with ``step`` the training step (1-based; several envs may share one);
    ``end_episode(slot)`` when the episode of env ``slot`` ends. Returns from ``add`` whether the step
    closed a window that names the onset, so a trainer can stop there.
    """

    def __init__(self, window_steps: int = DEFAULT_WINDOW_STEPS, max_share: float = DEFAULT_MAX_SHARE,
                 min_false_goals: int = DEFAULT_MIN_FALSE_GOALS) -> None:
        if isinstance(window_steps, bool) or not isinstance(window_steps, int) or window_steps < 1:
            raise ValueError(f"window_steps must be a whole number >= 1, got {window_steps!r}")
        if not 0 <= max_share < 1:
            raise ValueError(f"max_share must be in [0, 1), got {max_share!r}")
        if isinstance(min_false_goals, bool) or not isinstance(min_false_goals, int) or min_false_goals < 1:
            raise ValueError(f"min_false_goals must be a whole number >= 1, got {min_false_goals!r}")
        self.window_steps, self.max_share, self.min_false_goals = window_steps, float(max_share), min_false_goals
        self.windows: list[Window] = []
        self.total = Counts()
        self.onset: Window | None = None
        self._episodes: dict[int, list[bool]] = {}  # slot -> [learned, true, false goal] so far

    def _window(self, step: int) -> Window:
        start = (step - 1) // self.window_steps * self.window_steps + 1
        if not self.windows or self.windows[-1].start != start:
            self._close()
            self.windows.append(Window(start, start + self.window_steps - 1))
        return self.windows[-1]

    def _close(self) -> bool:
        """Judge the last window (once); True when it is the onset."""
        if self.onset is None and self.windows and self.windows[-1].exploited(self.max_share, self.min_false_goals):
            self.onset = self.windows[-1]
            return True
        return False

    def add(self, step: int, learned: bool, true: bool, slot: int = 0) -> bool:
        """Count one env step; True when it completes the onset window."""
        window = self._window(step)
        window.counts.add_step(learned, true)
        self.total.add_step(learned, true)
        flags = self._episodes.setdefault(slot, [False, False, False])
        flags[0] |= learned
        flags[1] |= true
        flags[2] |= learned and not true
        return step >= window.end and self._close()

    def end_episode(self, step: int, slot: int = 0) -> None:
        """The episode of ``slot`` ended at ``step`` (counted in that step's window)."""
        flags = self._episodes.pop(slot, None)
        if flags is None:
            return
        self._window(step).counts.add_episode(*flags)
        self.total.add_episode(*flags)

    def finish(self) -> Window | None:
        """Judge the last (possibly partial) window too; the onset window or None."""
        self._close()
        return self.onset
