"""Pictures of a run: the learning curve and where the time went (train), the time split per backend
(compare). matplotlib (the ``panda`` extra) draws them off-screen (Agg); each PNG is written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest_drlreward.atomic import atomic_file

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


def learning_curve_png(curve: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Episode return and true-goal success against training steps."""
    plt = _pyplot()
    figure, left = plt.subplots(figsize=(6, 3.2))
    steps = [p["step"] for p in curve]
    left.plot(steps, [p["mean_return"] for p in curve], color=COLOURS[0], marker=".", label="mean episode return")
    left.set_xlabel("training steps")
    left.set_ylabel("mean episode return", color=COLOURS[0])
    right = left.twinx()
    right.plot(steps, [100 * p["success_rate"] for p in curve], color=COLOURS[2], marker=".",
               label="true-goal success")
    right.set_ylabel("true-goal success (%)", color=COLOURS[2])
    right.set_ylim(-5, 105)
    left.set_title(title or "learning curve (episodes ending in each slice of training)")
    left.grid(alpha=0.3)
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
