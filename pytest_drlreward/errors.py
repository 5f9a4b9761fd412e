"""The base of every check's failure (standard library only, so the plugin side can catch it cheaply)."""

from __future__ import annotations

from typing import Any


class CheckError(AssertionError):
    """A check failed; ``report`` holds its numbers (None where the check had none to give)."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


# The checks a run can ask for, by the names a user gives in ``drl_allow_unverified`` to accept a gap.
CHECK_NAMES = ("parity", "decisions", "labelled", "fidelity", "search", "deployed", "contract", "vecenv", "timing",
               "golden", "env_checker", "audit")  # env_checker: Gymnasium's and stable-baselines3's check_env;
# audit: the slow suite test training an SB3 agent against the learned reward (pytest_drlreward.audit)


class NotVerifiedError(Exception):
    """A check the configuration asks for could not run: neither passed nor failed.

    ``check`` is one of :data:`CHECK_NAMES`, ``reason`` says why it could not run and ``fix`` is the one
    change that makes it run. The plugin fails the test as NOT VERIFIED unless the user accepted the gap
    by name (``drl_allow_unverified``); then it is a skip with this reason. ``also`` names the other checks
    the same gap blocks (raised by a fixture several checks share): each test then shows its own check.
    """

    def __init__(self, check: str, reason: str, fix: str, *, also: tuple[str, ...] = ()) -> None:
        unknown = [name for name in (check, *also) if name not in CHECK_NAMES]
        if unknown:
            raise ValueError(f"unknown check {unknown[0]!r}; known checks: {', '.join(CHECK_NAMES)}")
        super().__init__(f"NOT VERIFIED ({check}): {reason}; to verify it: {fix}")
        self.check = check
        self.reason = reason
        self.fix = fix
        self.checks = (check, *also)  # every check the gap blocks (a shared fixture's): a test shows its own
