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
               "golden")


class NotVerifiedError(Exception):
    """A check the configuration asks for could not run: neither passed nor failed.

    ``check`` is one of :data:`CHECK_NAMES`, ``reason`` says why it could not run and ``fix`` is the one
    change that makes it run. The plugin fails the test as NOT VERIFIED unless the user accepted the gap
    by name (``drl_allow_unverified``); then it is a skip with this reason.
    """

    def __init__(self, check: str, reason: str, fix: str) -> None:
        if check not in CHECK_NAMES:
            raise ValueError(f"unknown check {check!r}; known checks: {', '.join(CHECK_NAMES)}")
        super().__init__(f"NOT VERIFIED ({check}): {reason}; to verify it: {fix}")
        self.check = check
        self.reason = reason
        self.fix = fix
