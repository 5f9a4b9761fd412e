"""Watch an agent exploit its learned reward: a training-time audit of the learned reward against the env's
truth, on the states the agent itself visits.

- :class:`RewardAudit`: a Gymnasium wrapper for any env reporting its learned decision and its truth in
  ``info`` (``is_goal``, ``true_goal``, ``goal_probability`` by default); works with any trainer.
- :class:`AuditReport`: what ``.report()`` gives: ``onset_step`` (the first step of the window where
  exploitation set in, or None), the windows, the counts, the saved paths.
- :class:`RewardAuditCallback`: the same for stable-baselines3 (any VecEnv), logging ``audit/*`` to SB3's
  logger and, with ``stop_on_exploitation=True``, stopping at the onset (imports stable-baselines3).

Importing this package imports numpy and Gymnasium only; stable-baselines3 and matplotlib on first use.
"""

from __future__ import annotations

from typing import Any

from pytest_drlreward.audit.auditor import AuditKeyError, Auditor
from pytest_drlreward.audit.frames import load_false_goals
from pytest_drlreward.audit.report import AuditReport
from pytest_drlreward.audit.tally import Counts, Window
from pytest_drlreward.audit.wrapper import RewardAudit

__all__ = ["AuditKeyError", "AuditReport", "Auditor", "Counts", "RewardAudit", "RewardAuditCallback", "Window",
           "load_false_goals"]


def __getattr__(name: str) -> Any:
    """``RewardAuditCallback`` on first use: it imports stable-baselines3."""
    if name != "RewardAuditCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from pytest_drlreward.audit.callback import RewardAuditCallback

    globals()[name] = RewardAuditCallback
    return RewardAuditCallback
