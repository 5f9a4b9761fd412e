"""How a failed check reads in pytest's report (the plugin's ``FailureReports`` uses it; no pytest here).

One failure per cause: a wrong candidate is reported in full once per (candidate, reference) pair, by the
first failing parity or decision-parity test of the pair in run order; the pair's later parity and decision
failures, and the candidate's labelled-accuracy and fidelity failures (judged alone, they follow from it),
read as one line naming that test.
"""

from __future__ import annotations

import re

REPLAY_DIR = "drl_replay"  # under --drl-plots DIR, else pytest's basetemp: every failing check's input
PAIRED = ("parity", "decisions")
SAME_CAUSE_CHECKS = ("AccuracyError", "FidelityError")  # a candidate's failure here follows from a failed parity


def pair_of(error: BaseException) -> tuple[str | None, str | None, str]:
    """(the backend a failure is about, the reference it was compared with or None, the kind of check)."""
    case = getattr(error, "replay", None)
    if case is not None:
        return case.settings.get("candidate"), case.settings.get("reference"), case.check
    report = getattr(error, "report", None)
    names = getattr(report, "names", None)
    if names:
        return names[1], names[0], "parity"
    if hasattr(report, "candidate"):
        return report.candidate, getattr(report, "reference", None), "decisions"
    return getattr(report, "backend", getattr(report, "decider", None)), None, type(error).__name__


class Causes:
    """Which test reported each pair's cause first (one per process: under xdist, one per worker)."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str | None], str] = {}

    def owner(self, error: BaseException, test: str, reference: str | None) -> str | None:
        """The test that reported the cause of ``error`` when that is another test than ``test``, else None
        (``reference``: the run's reference, for checks that judge a backend alone)."""
        candidate, compared_with, kind = pair_of(error)
        if not candidate:
            return None
        if kind in PAIRED:
            owner = self.first.setdefault((candidate, compared_with), test)
        elif type(error).__name__ in SAME_CAUSE_CHECKS:
            owner = self.first.get((candidate, reference))
        else:
            return None
        return owner if owner != test else None


def short_notes(error: BaseException) -> list[str]:
    """The exception's notes (Hypothesis's failing example), each on one line; Hypothesis's explanation (lines
    of the plugin's source) left out."""
    notes = []
    for note in getattr(error, "__notes__", ()):
        if note.lstrip().startswith("Explanation"):
            break
        notes.append(re.sub(r"\(\s+", "(", re.sub(r",?\s*\)$", ")", " ".join(note.split()))))
    return notes


def failure_lines(error: BaseException, replay: str, owner: str | None) -> list[str]:
    """The report of a failed check: its message, the replay line and its notes; one line when ``owner`` (the
    test that reported the same cause) is given."""
    name = type(error).__name__
    if owner is not None:
        first = str(error).splitlines()[0] if str(error) else name
        return [f"{name}: {first} (same cause as {owner.split('::')[-1]}, reported there"
                + (f"; {replay})" if replay else ")")]
    return [f"{name}: {error}", *([replay] if replay else []), *short_notes(error)]


def case_file_name(test_name: str) -> str:
    """The file a test's failing input is saved as: its name with anything but letters, digits, ``.-_`` as ``_``."""
    return re.sub(r"[^\w.-]+", "_", test_name).strip("_") + ".npz"
