"""The audit in one picture: learned against true success over training steps (95% Wilson bands, the gap
between them shaded), the onset marked, and under it a strip of false-goal frames. matplotlib is imported
here only, off-screen (Agg); the PNG is written atomically."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.util.atomic import atomic_file

PICTURE_FILE = "audit.png"
STRIP = 8  # false-goal frames shown


def can_draw() -> bool:
    """Whether matplotlib is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def _frame(case: Any) -> np.ndarray | None:
    """The first uint8 RGB (or grey) image among a kept false goal's inputs."""
    for name in sorted(case.inputs):
        value = np.asarray(case.inputs[name])
        if value.dtype == np.uint8 and (value.ndim == 2 or (value.ndim == 3 and value.shape[-1] in (1, 3, 4))):
            return value
    return None


def _curve(axes: Any, report: Any) -> None:
    windows = [w for w in report.windows if w.counts.steps]
    ends = [w.end if w is not windows[-1] else w.start + w.counts.steps - 1 for w in windows]
    for name, colour, label in (("learned_success", "tab:orange", "learned success (the reward says goal)"),
                                ("true_success", "tab:blue", "true success (the env's truth)")):
        shares = [getattr(w.counts, name) for w in windows]
        values = [100 * s.value if s.trials else np.nan for s in shares]
        axes.plot(ends, values, marker="o", color=colour, label=label)
        axes.fill_between(ends, [100 * s.interval[0] for s in shares], [100 * s.interval[1] for s in shares],
                          color=colour, alpha=0.12)
    if report.onset_step is not None:
        axes.axvline(report.onset_step, color="tab:red", linestyle="--", label=f"onset of exploitation, step {report.onset_step}")
    axes.set_xlabel("training steps")
    axes.set_ylabel("episodes (%)")
    axes.set_ylim(-5, 105)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", frameon=False)
    share = report.counts.false_goal_share
    axes.set_title(f"learned vs true success; false goals {share.successes} of {share.trials} learned successes",
                   fontsize=9)


def draw_audit(report: Any, cases: Sequence[Any], path: str | Path) -> Path:
    """Draw ``report`` (an :class:`~pytest_drlreward.audit.report.AuditReport`) and up to :data:`STRIP` of the
    kept false goals ``cases`` (those at and after the onset first) into the PNG ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt

    onset = report.onset_step or 0
    ordered = sorted(cases, key=lambda c: (c.step < onset, c.step))
    frames = [(case, image) for case in ordered if (image := _frame(case)) is not None][:STRIP]
    figure = plt.figure(figsize=(7, 4.6 if frames else 3.4))
    grid = figure.add_gridspec(2 if frames else 1, max(len(frames), 1), height_ratios=[3, 1.2] if frames else [1])
    _curve(figure.add_subplot(grid[0, :]), report)
    for k, (case, image) in enumerate(frames):
        axes = figure.add_subplot(grid[1, k])
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None)
        axes.set_axis_off()
        probability = "" if case.probability is None else f"\np={case.probability:.2f}"
        axes.set_title(f"false goal\nstep {case.step}{probability}", fontsize=6)
    figure.tight_layout()
    path = Path(path)
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
    return path
