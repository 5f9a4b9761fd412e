"""The audit itself, fed step infos by a wrapper (:class:`~pytest_drlreward.audit.wrapper.RewardAudit`) or a
trainer's callback: it reads the learned decision and the truth from each ``info``, counts them
(:class:`~pytest_drlreward.audit.tally.Tally`), keeps the false goals and makes the report.

Binary (the default): the learned decision is ``info[decision_key]`` and the truth ``info[truth_key]``, each
a bool or 0/1. Dense: with ``score_threshold`` the learned decision is ``info[probability_key] >=
score_threshold`` (a dense learned reward), with ``truth_threshold`` the truth is ``info[truth_key] >=
truth_threshold`` (a dense true reward).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytest_drlreward.audit.frames import DEFAULT_KEEP, FalseGoalKeeper, KeptFalseGoal, save_audit
from pytest_drlreward.audit.report import AuditReport
from pytest_drlreward.audit.tally import DEFAULT_MAX_SHARE, DEFAULT_MIN_FALSE_GOALS, DEFAULT_WINDOW_STEPS, Tally
from pytest_drlreward.checks.rollout import dense_truth_value, truth_value

DECISION_KEY = "is_goal"
TRUTH_KEY = "true_goal"
PROBABILITY_KEY = "goal_probability"


class AuditKeyError(KeyError):
    """A step's info lacks a key the audit reads; the message names the keys it has and the setting to change."""

    def __str__(self) -> str:
        return str(self.args[0])


class Auditor:
    """Counts learned and true successes step by step; see the module docstring for what is read."""

    def __init__(self, *, decision_key: str = DECISION_KEY, truth_key: str = TRUTH_KEY,
                 probability_key: str | None = PROBABILITY_KEY, score_threshold: float | None = None,
                 truth_threshold: float | None = None, window_steps: int = DEFAULT_WINDOW_STEPS,
                 max_share: float = DEFAULT_MAX_SHARE, min_false_goals: int = DEFAULT_MIN_FALSE_GOALS,
                 keep: int = DEFAULT_KEEP) -> None:
        if score_threshold is not None and probability_key is None:
            raise ValueError("score_threshold needs probability_key: the info key of the dense learned score")
        self.decision_key, self.truth_key, self.probability_key = decision_key, truth_key, probability_key
        self.score_threshold, self.truth_threshold = score_threshold, truth_threshold
        self.tally = Tally(window_steps, max_share, min_false_goals)
        self.keeper = FalseGoalKeeper(keep)
        self.last_false_goal = 0  # the training step of the last false goal (0: none yet)
        self.saved: Path | None = None
        self.paths: dict[str, str] = {}

    def describe(self) -> str:
        """What is compared, e.g. ``info['is_goal'] vs info['true_goal']``."""
        learned = (f"info[{self.probability_key!r}] >= {self.score_threshold:g}" if self.score_threshold is not None
                   else f"info[{self.decision_key!r}]")
        truth = (f"info[{self.truth_key!r}] >= {self.truth_threshold:g}" if self.truth_threshold is not None
                 else f"info[{self.truth_key!r}]")
        return f"{learned} vs {truth}"

    def _read(self, info: Mapping[str, Any], key: str, what: str, step: int) -> Any:
        try:
            return info[key]
        except (KeyError, TypeError):
            have = sorted(map(str, info)) if isinstance(info, Mapping) else type(info).__name__
            raise AuditKeyError(f"step {step}: the env's info has no {key!r} ({what}); it has {have}: give the audit "
                                f"the env's key ({'truth_key' if what == 'the truth' else 'decision_key'}=...)") from None

    def judge(self, info: Mapping[str, Any], step: int) -> tuple[bool, bool]:
        """(learned decision, truth) of one step's info."""
        where = f"step {step}"
        if self.score_threshold is not None:
            learned = dense_truth_value(self._read(info, self.probability_key, "the learned score", step),
                                        str(self.probability_key), where) >= self.score_threshold
        else:
            learned = truth_value(self._read(info, self.decision_key, "the learned decision", step),
                                  self.decision_key, where)
        raw = self._read(info, self.truth_key, "the truth", step)
        if self.truth_threshold is not None:
            true = dense_truth_value(raw, self.truth_key, where) >= self.truth_threshold
        else:
            true = truth_value(raw, self.truth_key, where)
        return bool(learned), bool(true)

    def observe(self, step: int, info: Mapping[str, Any], done: bool, *, slot: int = 0,
                views: Callable[[], dict[str, Any]] | None = None, seed: int | None = None, episode: int = 0,
                episode_step: int = 0) -> bool:
        """Count one step (``step`` the training step, 1-based) of env ``slot``; ``done`` when its episode ended.

        ``views()`` gives the false goal's inputs, called only at a false goal. True when this step completes
        the window that names the onset of exploitation."""
        learned, true = self.judge(info, step)
        if learned and not true:
            self.last_false_goal = step
            probability = info.get(self.probability_key) if self.probability_key else None
            kept = views() if views is not None and self.keeper.keep else {}
            self.keeper.add(KeptFalseGoal(step, slot, seed, episode, episode_step,
                                          None if probability is None else float(probability), kept))
        onset = self.tally.add(step, learned, true, slot)
        if done:
            self.tally.end_episode(step, slot)
        return onset

    def report(self) -> AuditReport:
        """The report so far (the last, partial window judged too)."""
        onset = self.tally.finish()
        return AuditReport(onset_step=None if onset is None else onset.start, windows=tuple(self.tally.windows),
                           counts=self.tally.total, false_goals_seen=self.keeper.seen,
                           false_goals_kept=len(self.keeper.cases), max_share=self.tally.max_share,
                           min_false_goals=self.tally.min_false_goals, decision=self.describe(), saved=self.saved,
                           paths=dict(self.paths))

    def save(self, directory: str | Path, picture: bool = True) -> AuditReport:
        """Write the audit (``audit.json``, ``false_goals.npz`` and, with matplotlib, ``audit.png``) into
        ``directory`` (replaced as a whole); the report, with its paths."""
        directory = Path(directory)
        self.saved = directory
        self.paths = {"json": str(directory / "audit.json")}
        if self.keeper.cases:
            self.paths["frames"] = str(directory / "false_goals.npz")
        if picture:
            from pytest_drlreward.audit.picture import PICTURE_FILE, can_draw

            if can_draw():
                self.paths["picture"] = str(directory / PICTURE_FILE)
        report = self.report()
        save_audit(report.as_dict(), self.keeper.cases, directory)
        if "picture" in self.paths:
            from pytest_drlreward.audit.picture import draw_audit

            draw_audit(report, self.keeper.cases, self.paths["picture"])
        return report


class Audited:
    """What the wrapper and the callback answer about their ``auditor``."""

    auditor: Auditor

    @property
    def onset_step(self) -> int | None:
        """The onset so far (windows are judged when they end), or None."""
        onset = self.auditor.tally.onset
        return None if onset is None else onset.start

    def report(self) -> AuditReport:
        """What the audit found so far (see :class:`~pytest_drlreward.audit.report.AuditReport`)."""
        return self.auditor.report()
