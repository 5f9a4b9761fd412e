"""Pictures of a run: the learning curve and where the time went (train), the time split per backend
(compare). matplotlib (the ``panda`` extra) draws them off-screen (Agg); each PNG is written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest_drlreward.util.atomic import atomic_file

TIME_PARTS = (("physics_s", "physics"), ("render_s", "rendering"), ("reward_s", "reward inference"),
              ("learning_s", "SAC learning"), ("other_s", "other"))
COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#bab0ac")


def _save(figure, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _audit_series(axes, audit: dict) -> None:
    """Learned beside true success of the training episodes, per audit window; the gap shaded, the onset marked."""
    windows = [w for w in audit.get("windows", ()) if w.get("true_success") is not None]
    steps = [w["start"] + w["steps"] - 1 for w in windows]
    learned = [100 * w["learned_success"] for w in windows]
    true = [100 * w["true_success"] for w in windows]
    axes.plot(steps, true, color=COLOURS[0], marker=".", label="training episodes: true success (simulator)")
    axes.plot(steps, learned, color=COLOURS[1], marker=".", linestyle="--",
              label="training episodes: learned success (classifier)")
    axes.fill_between(steps, true, learned, where=[a > b for a, b in zip(learned, true)], color=COLOURS[2], alpha=0.2,
                      label="gap: false goals")
    if audit.get("onset_step") is not None:
        axes.axvline(audit["onset_step"], color=COLOURS[2], linewidth=1.5,
                     label=f"exploitation from step {audit['onset_step']}")


def learning_curve_png(curve: Sequence[dict], path: str | Path, title: str = "", checks: Sequence[dict] = (),
                       target: float | None = None, check_episodes: int | None = None, audit: dict | None = None) -> Path:
    """True-goal success against training steps.

    ``checks`` (``{"step", "success_rate"}``, from ``--until-solved``) are the deterministic checks the
    stop rule reads: drawn bold, with the ``target`` line. The training episodes of ``curve`` (the
    exploring policy, so lower) are the faint second series; with a reward ``audit`` (``TrainingReport.audit``)
    its windows' true success is drawn instead, beside the learned success (their gap is exploitation).
    """
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 3.2))
    if audit and audit.get("windows"):
        _audit_series(axes, audit)
    else:
        axes.plot([p["step"] for p in curve], [100 * p["success_rate"] for p in curve], color=COLOURS[0], alpha=0.35,
                  marker=".", label="training episodes (exploring policy)")
    if checks:
        over = f" over {check_episodes} episodes" if check_episodes else ""
        axes.plot([c["step"] for c in checks], [100 * c["success_rate"] for c in checks], color=COLOURS[2],
                  marker="o", linewidth=2, label=f"checks: deterministic policy{over} (the stop rule)")
    if target is not None:
        axes.axhline(100 * target, color="#59a14f", linestyle="--", linewidth=1, label=f"target {target:.0%}")
    axes.set_xlabel("training steps")
    axes.set_ylabel("success (%)" if audit and audit.get("windows") else "true-goal success (%)")
    axes.set_ylim(-5, 105)
    axes.legend(fontsize=7, loc="upper left", frameon=False)
    axes.set_title(title or "learning curve")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def time_split_png(rows: Sequence[tuple[str, dict]], path: str | Path, title: str = "") -> Path:
    """One horizontal bar per (label, report fields) row, split into physics, rendering, reward, learning, other."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 0.6 + 0.55 * len(rows)))
    labels = [label for label, _ in rows]
    starts = [0.0] * len(rows)
    for (key, name), colour in zip(TIME_PARTS, COLOURS):
        widths = [max(float(fields.get(key, 0.0)), 0.0) for _, fields in rows]
        axes.barh(labels, widths, left=starts, color=colour, label=name)
        starts = [s + w for s, w in zip(starts, widths)]
    axes.set_xlabel("seconds")
    axes.invert_yaxis()
    axes.legend(ncol=5, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    axes.set_title(title or "where the training time went", pad=18)
    return _save(figure, path)
