"""The three verdicts of a check (VERIFIED, FAILED, NOT VERIFIED) and the gaps a user accepts by name.

``drl_allow_unverified`` lists checks (:data:`~pytest_drlreward.errors.CHECK_NAMES`), each with an optional
reason: ``env_checker: panda-gym reset() without seed is not deterministic``. Such a check that could not run
is a skip with that reason instead of a failure; for the checks of someone else's env
(:data:`ACCEPTS_FAILURE`) a known failure is accepted the same way. What each suite test checks
(:data:`SUITE_CHECKS`), the coverage table's rows and what a verdict rests on are here too. No pytest here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_drlreward.errors import CHECK_NAMES

# Checks of the env itself (someone else's code): a known FAILURE of one may be accepted too, not only a gap.
ACCEPTS_FAILURE = ("env_checker", "contract", "vecenv")
NO_REASON = "accepted in drl_allow_unverified (no reason given)"

# The ready suite's tests and the check each is (function name -> check).
SUITE_CHECKS = {
    "test_env_keeps_step_contract": "contract",
    "test_env_passes_gymnasium_checker": "env_checker",
    "test_env_passes_sb3_checker": "env_checker",
    "test_vector_env_matches_single_envs": "vecenv",
    "test_backend_matches_reference_on_random_images": "parity",
    "test_backend_matches_reference_on_labelled_images": "parity",
    "test_backend_decisions_match_reference_on_env_images": "decisions",
    "test_reference_classifies_labelled_images": "labelled",
    "test_backend_classifies_labelled_images": "labelled",
    "test_reference_reward_fidelity": "fidelity",
    "test_reward_fidelity": "fidelity",
    "test_reference_latency": "timing",
    "test_backend_latency": "timing",
    "test_reference_golden_outputs": "golden",
    "test_backend_golden_outputs": "golden",
    "test_deployed_reward_matches_classifier": "deployed",
    "test_agent_does_not_exploit_the_learned_reward": "audit",
}

VERIFIED, FAILED, NOT_VERIFIED, ACCEPTED, SKIPPED = "VERIFIED", "FAILED", "NOT VERIFIED", "accepted", "skipped"
_RANK = {FAILED: 0, NOT_VERIFIED: 1, ACCEPTED: 2, SKIPPED: 3, VERIFIED: 4}  # a row shows its worst test


def worst(first: tuple[str, str] | None, second: tuple[str, str]) -> tuple[str, str]:
    """The worse of two (verdict, detail) pairs (FAILED, NOT VERIFIED, accepted, skipped, VERIFIED)."""
    return second if first is None or _RANK[second[0]] < _RANK[first[0]] else first


def parse_allow_unverified(text: str) -> dict[str, str]:
    """Lines ``check[, check]: reason`` (the reason optional; a line without ':' may list several checks).

    ValueError names an unknown check and the known ones.
    """
    accepted: dict[str, str] = {}
    for line in filter(None, (part.strip() for part in text.splitlines())):
        names, _, reason = line.partition(":")
        reason = reason.strip() or NO_REASON
        for name in filter(None, re.split(r"[,\s]+", names)):
            if name not in CHECK_NAMES:
                raise ValueError(f"unknown check {name!r}; known checks: {', '.join(CHECK_NAMES)}")
            accepted[name] = reason
    return accepted


def suite_check(module: str, function: str) -> str | None:
    """The check a test of the ready suite (module ``pytest_drlreward.suite.*``) is, else None: by its name in
    :data:`SUITE_CHECKS`, else by its module's (``suite/test_deployed.py``: ``deployed``)."""
    if not module.startswith("pytest_drlreward.suite"):
        return None
    named = module.rpartition(".")[2].removeprefix("test_")  # a suite module of one check: test_deployed.py
    return SUITE_CHECKS.get(function) or (named if named in CHECK_NAMES else None)


def not_verified_text(check: str, reason: str, fix: str) -> str:
    """The one line a check that could not run shows."""
    return f"NOT VERIFIED ({check}): {reason}; to verify it: {fix}"


def accept_hint(checks: Sequence[str]) -> str:
    """How to accept the gap of ``checks`` instead."""
    return f"or accept the gap: drl_allow_unverified = {', '.join(checks)}: <your reason>"


def accepted_text(check: str, reason: str, what: str, as_what: str = "not verified") -> str:
    """The skip reason of an accepted gap (``as_what`` "not verified") or known failure ("a known failure")."""
    return f"{check} accepted as {as_what} ({reason}): {what}"


def constant_inputs(inputs: Any) -> bool:
    """Whether every row of ``inputs`` (one array, or a dict of named arrays) is the same: a check on them
    has seen one input, however many it counts (e.g. an unmapped observation key giving black images)."""
    import numpy as np

    arrays = list(inputs.values()) if isinstance(inputs, Mapping) else [inputs]
    return all(len(a) > 1 and bool(np.all(np.asarray(a) == np.asarray(a)[:1])) for a in arrays)


def require_varied(inputs: Any, check: str, what: str, fix: str) -> None:
    """NOT VERIFIED (``check``) when every one of ``inputs`` is the same (:func:`constant_inputs`)."""
    if constant_inputs(inputs):
        from pytest_drlreward.errors import NotVerifiedError

        count = len(next(iter(inputs.values()))) if isinstance(inputs, Mapping) else len(inputs)
        raise NotVerifiedError(check, f"all {count} {what} are the same input: agreement on one input says "
                                      f"nothing about the others", fix)


def describe_sources(sources: Mapping[str, str]) -> str:
    """``images from camera_image()`` / ``front from observation['front'], wrist from render()``."""
    return ", ".join(f"{name} from {source}" for name, source in sources.items())


def describe_episodes(states: Any) -> str:
    """``600 states from 60 episodes (reset seeds 0-59); 23 goal states from 2 episodes`` for a rollout (a
    search: probes, each a reset and its actions), the goal states only where it has a truth."""
    import numpy as np

    seeds = np.asarray(states.episode_seeds)
    probes = getattr(states, "probe_index", None)
    groups, unit = (seeds, "episodes") if probes is None else (np.asarray(probes), "probes")
    unique = np.unique(seeds)
    span = f"reset seed {unique[0]}" if len(unique) == 1 else f"reset seeds {unique[0]}-{unique[-1]}" if len(unique) else ""
    text = f"{len(seeds)} states from {len(np.unique(groups))} {unit} ({span})"
    truth = getattr(states, "truth", None)
    if truth is not None:
        truth = np.asarray(truth, dtype=bool)
        text += f"; {int(truth.sum())} goal states from {len(np.unique(groups[truth]))} {unit}"
    return text


@dataclass
class Row:
    """One row of the coverage table: a check on one backend (or the env), its verdict and what it rests on."""

    check: str
    backend: str
    verdicts: list[tuple[str, str]] = field(default_factory=list)  # (verdict, detail) of each test
    judged_on: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> tuple[str, str]:
        """The worst verdict of the tests that ran (skipped only when every test skipped)."""
        found = None
        for verdict in self.verdicts:
            if verdict[0] != SKIPPED:
                found = worst(found, verdict)
        return found or (self.verdicts[0] if self.verdicts else (SKIPPED, ""))

    def line(self) -> str:
        verdict, detail = self.verdict
        shown = f"{verdict} ({detail})" if detail and verdict != VERIFIED else verdict
        skipped = sum(1 for v, _ in self.verdicts if v == SKIPPED)
        counts = f" [{len(self.verdicts)} tests" + (f", {skipped} skipped" if skipped and verdict != SKIPPED else "") + "]"
        counts = counts if len(self.verdicts) > 1 else ""
        on = f"; on {'; '.join(dict.fromkeys(self.judged_on))}" if self.judged_on and verdict != SKIPPED else ""
        return f"{self.check:<12} {self.backend:<14} {shown}{counts}{on}"


def coverage_lines(rows: Iterable[Row]) -> list[str]:
    """The coverage table, checks in :data:`CHECK_NAMES` order."""
    order = {name: index for index, name in enumerate(CHECK_NAMES)}
    ranked = sorted(rows, key=lambda r: (order.get(r.check, len(order)), r.backend))
    return [f"{'check':<12} {'backend':<14} verdict; what it rests on", *(row.line() for row in ranked)]
