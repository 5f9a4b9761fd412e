"""A training run's reward audit (``pytest_drlreward.audit``): the learned reward against the simulator's
truth on the states SAC visits, so a run that exploits its reward says so.

A single env is wrapped in ``RewardAudit(share_views=True)``, so a false goal keeps the camera image of the
step that ended its episode; a batched VecEnv is audited through its infos alone (observations only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIN_WINDOW, MAX_WINDOW = 100, 500  # training steps per audit window
WINDOWS = 20  # about this many windows over a run


def audit_window(steps: int) -> int:
    """Steps per audit window for a run of ``steps`` steps: about :data:`WINDOWS` windows, 100 to 500 steps each."""
    return max(MIN_WINDOW, min(MAX_WINDOW, steps // WINDOWS))


def audited(env: Any) -> Any:
    """``env`` wrapped to hand a false goal's camera image to the audit callback."""
    from pytest_drlreward.audit import RewardAudit

    return RewardAudit(env, share_views=True)


def audit_callback(steps: int, check_every: int | None = None) -> Any:
    """The SB3 callback auditing a run of ``steps`` steps (a cap when training until solved: then one window per
    ``check_every`` steps, at least 100). It writes nothing: :func:`save_audit` does, after the timed training."""
    from pytest_drlreward.audit import RewardAuditCallback

    window = max(MIN_WINDOW, check_every) if check_every else audit_window(steps)
    return RewardAuditCallback(window_steps=window)


def save_audit(callback: Any, out: str | Path) -> None:
    """Write the run's audit (json, false goals, picture) to ``out/audit/``: outside the training time, since
    drawing the picture alone takes about a second."""
    from pytest_drlreward.audit.callback import AUDIT_DIR

    callback.auditor.save(Path(out) / AUDIT_DIR)


def audit_lines(audit: dict) -> list[str]:
    """The audit's last lines of a run (``TrainingReport.audit``): exploitation loudly, else one quiet line."""
    if not audit:
        return []
    counts = audit["counts"]
    numbers = (f"{counts['learned']} learned successes, {counts['true']} true, {counts['false_goals']} false goals, "
               f"{counts['missed']} missed goals over {counts['steps']} steps")
    if not audit["exploited"]:
        return [f"  reward audit: no exploitation of the learned reward ({numbers})"]
    onset = next(w for w in audit["windows"] if w["start"] == audit["onset_step"])
    lines = [f"  EXPLOITED REWARD: from step {audit['onset_step']} the agent reaches states the classifier calls goal "
             f"and the simulator does not: {onset['false_goals']} of {onset['learned']} learned successes in steps "
             f"{onset['start']}-{onset['end']} were false goals (above {audit['max_share']:.0%} with 95% confidence)",
             f"  reward audit: {numbers}"]
    if audit.get("saved"):
        lines.append(f"  false goals (images, steps) saved in {audit['saved']}")
    return lines
