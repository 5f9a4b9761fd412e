"""The original demo's experiment: train with each backend the same number of times, alternating, and
compare total times; beside each measured saving, the saving Amdahl's law predicts from the baseline's
own reward share and the engines' speed-up on the reward call inside an env step loop (measured in the
same command)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict

from panda_env.bench.executors import run_all
from panda_env.bench.step_profile import predicted_saving
from panda_env.training.sac import TrainingReport, train


def seed_runs(backends: Sequence[str], run: int, seed: int, steps: int, profile: str, eval_episodes: int,
              model_dir, int8: bool) -> list[TrainingReport]:
    """Run ``run`` of a comparison: every backend once with ``seed``, in alternating order (run 0 in the
    given order, run 1 reversed, ...); one host runs them all, so their savings are ratios of one machine."""
    order = list(backends) if run % 2 == 0 else list(reversed(backends))
    return [train(backend, steps=steps, seed=seed, profile=profile, model_dir=model_dir, eval_episodes=eval_episodes,
                  int8=int8 and backend == "openvino", table_rows=0) for backend in order]


def _runs(arguments: list[tuple], executor: str, address: str | None, cpus_per_task: float):
    """(host, reports) of each run: locally one at a time, as each ends; on Ray all at once."""
    if executor == "local" and address is None:
        for args in arguments:
            yield run_all(seed_runs, [args])[0]
    else:
        yield from run_all(seed_runs, arguments, executor, address, cpus_per_task)


def compare_backends(backends: list[str], runs: int = 3, steps: int = 8000, seed: int = 0, profile: str = "fast",
                     eval_episodes: int = 50, model_dir=None, int8: bool = False,
                     on_run: Callable[[TrainingReport], None] | None = None, executor: str = "local",
                     address: str | None = None, cpus_per_task: float = 1.0) -> dict:
    """Run ``runs`` trainings per backend (run i uses seed + i for every backend, backends alternate).

    ``int8``: the openvino runs use the classifier's shipped INT8 model. ``executor="ray"`` runs each
    run (all backends of one seed) as a Ray task reserving ``cpus_per_task`` CPUs, at ``address`` (None:
    a local Ray instance); results aggregate as for local runs, and each run records its host.
    """
    if runs < 1 or steps < 1:
        raise ValueError(f"runs and steps must be positive, got runs={runs}, steps={steps}")
    arguments = [(backends, run, seed + run, steps, profile, eval_episodes, model_dir, int8) for run in range(runs)]
    reports: dict[str, list[TrainingReport]] = {b: [] for b in backends}
    hosts: dict[str, list[str]] = {b: [] for b in backends}
    for host, run_reports in _runs(arguments, executor, address, cpus_per_task):
        for report in run_reports:
            reports[report.backend].append(report)
            hosts[report.backend].append(host)
            if on_run is not None:
                on_run(report)
    rows = []
    reference = statistics.mean(r.total_s for r in reports[backends[0]])
    share = statistics.mean(r.reward_s for r in reports[backends[0]]) / reference
    speedups = reward_speedups(backends, profile, model_dir, int8)
    for backend, items in reports.items():
        total = statistics.mean(r.total_s for r in items)
        rows.append({
            "backend": backend, "runs": len(items), "steps": steps, "profile": profile,
            "mean_total_s": total, "mean_reward_s": statistics.mean(r.reward_s for r in items),
            **{f"mean_{part}": statistics.mean(getattr(r, part) for r in items)
               for part in ("physics_s", "render_s", "learning_s", "other_s")},
            "mean_step_ms": 1000 * total / steps,
            "saving_vs_first_pct": 100.0 * (reference - total) / reference,
            "speedup_vs_first": speedups.get(backend),
            "predicted_saving_pct": (100.0 * predicted_saving(share, speedups[backend])
                                     if speedups.get(backend) else None),
            "success_rate": statistics.mean(r.evaluation.get("success_rate", float("nan")) for r in items),
        })
    return {"rows": rows, "executor": executor,
            "runs": {b: [{**asdict(r), "host": host} for r, host in zip(items, hosts[b])] for b, items in reports.items()}}


def chart_rows(rows: list[dict]) -> list[tuple[str, dict]]:
    """(label, mean time parts) per compared backend, for ``plots.time_split_png``."""
    return [(f"{row['backend']} ({row['profile']})", {part: row[f"mean_{part}"] for part in
                                                     ("physics_s", "render_s", "reward_s", "learning_s", "other_s")})
            for row in rows]


def reward_speedups(backends: list[str], profile: str, model_dir=None, int8: bool = False, steps: int = 150,
                    rounds: int = 3) -> dict[str, float]:
    """Each backend's reward-call speed-up over the first one's, timed inside an env step loop (the same
    seeded actions for all, backends interleaved round by round): a call between physics and rendering
    costs more than one alone, so isolated calls would overstate the speed-up. The oracle has no call."""
    import numpy as np

    from panda_env.training.runs import make_env

    timed = [b for b in backends if b != "oracle"]
    if backends[0] not in timed:
        return {}
    envs = {b: make_env(b, profile, model_dir=model_dir, int8=int8 and b == "openvino") for b in timed}
    try:
        actions = np.random.default_rng(0).uniform(-0.1, 0.1, size=(steps, 2)).astype(np.float32)
        for _ in range(rounds):
            for env in envs.values():
                env.reset(seed=0)
                for action in actions:
                    if any(env.step(action)[2:4]):
                        env.reset()
        per_call = {b: env.reward_timer.total_s / env.reward_timer.calls for b, env in envs.items()}
    finally:
        for env in envs.values():
            env.close()
    return {b: per_call[backends[0]] / ms for b, ms in per_call.items()}
