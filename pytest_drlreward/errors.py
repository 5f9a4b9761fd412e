"""The base of every check's failure (standard library only, so the plugin side can catch it cheaply)."""

from __future__ import annotations

from typing import Any


class CheckError(AssertionError):
    """A check failed; ``report`` holds its numbers (None where the check had none to give)."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report
