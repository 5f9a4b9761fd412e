"""Time to a solved policy, against the original demo's 8000 training steps, measured in one command.

For each seed: train with the given reward until a check reaches the target success (``--until-solved``),
then confirm on 50 fresh episodes. In the same command: the seed profile (the demo's scene, camera,
move and reward path, Torch) trains for ``seed_steps`` steps, and its cost per step times 8000 is the
demo's training time. The ratio of the two is the headline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from panda_env.training.sac import TrainingReport, train
from panda_env.training.solved import SolvedRule

SEED_DEMO_STEPS = 8000


def solve_time(seeds: Sequence[int] = (0, 1, 2), backend: str = "openvino", cap: int = 8000,
               rule: SolvedRule | None = None, seed_steps: int = 100, eval_episodes: int = 50,
               on_run: Callable[[TrainingReport], None] | None = None, progress_bar: bool = False,
               learner: str | None = None) -> dict:
    """Runs per seed and the seed profile's per-step cost; see the module docstring.

    ``progress_bar``: each training shows its progress on stderr (``panda_env.training.bar``).
    ``learner``: who runs the seeds' gradient steps (``profiles.LEARNERS``; None: the fast profile's, ``fast``);
    the original profile keeps SB3's own, as the demo did."""
    if seed_steps < 1:
        raise ValueError(f"seed_steps must be positive, got {seed_steps}")
    rule = rule or SolvedRule()
    runs = []
    for seed in seeds:
        report = train(backend, steps=cap, seed=seed, eval_episodes=eval_episodes, table_rows=0, until_solved=rule,
                       learner=learner, progress_bar=progress_bar and f"seed {seed}, {backend} reward, until solved")
        runs.append(report)
        if on_run is not None:
            on_run(report)
    demo = train("torch", steps=seed_steps, seed=0, profile="original", eval_episodes=0, table_rows=0,
                 progress_bar=progress_bar and "the original demo's cost (original profile, torch reward)")
    if on_run is not None:
        on_run(demo)
    demo_step_s = demo.total_s / demo.steps
    demo_total_s = demo_step_s * SEED_DEMO_STEPS
    rows = []
    for report in runs:
        solved = report.until_solved
        seconds = solved["train_s_to_solve"]
        rows.append({"seed": report.seed, "backend": backend, "learner": learner or "fast", "solved": solved["solved"],
                     "steps_to_solve": solved["steps_to_solve"], "train_s_to_solve": seconds,
                     "check_s": solved["check_s"], "confirmed_success": report.evaluation.get("success_rate"),
                     "times_less_than_demo": demo_total_s / seconds if seconds else None})
    return {"rule": {"target": rule.target, "every": rule.every, "episodes": rule.episodes},
            "rows": rows, "demo": {"steps_measured": demo.steps, "step_s": demo_step_s,
                                   "steps": SEED_DEMO_STEPS, "total_s": demo_total_s}}
