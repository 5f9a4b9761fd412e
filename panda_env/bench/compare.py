"""The original demo's experiment: train with each backend the same number of times, alternating, and
compare total times; beside each measured saving, the saving Amdahl's law predicts from the baseline's
own reward share and the engines' speed-up on the reward call inside an env step loop (measured in the
same command)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict

from panda_env.bench.executors import run_all
from panda_env.bench.spread import quartiles, ratio_iqr
from panda_env.bench.step_profile import predicted_saving
from panda_env.envs.task import run_backend_name, split_run_backend
from panda_env.training.runs import backend_options_for
from panda_env.training.sac import TrainingReport, train


def report_name(report: TrainingReport) -> str:
    """The backend name a comparison files ``report`` under (``openvino-int8`` for an INT8 run)."""
    return run_backend_name(report.backend, report.int8)


def seed_runs(backends: Sequence[str], run: int, seed: int, steps: int, profile: str, eval_episodes: int,
              model_dir, progress_bar: bool = False) -> list[TrainingReport]:
    """Run ``run`` of a comparison: every backend once with ``seed``, in alternating order (run 0 in the
    given order, run 1 reversed, ...); one host runs them all, so their savings are ratios of one machine.
    ``backends``: run backend names (``openvino-int8`` included)."""
    order = list(backends) if run % 2 == 0 else list(reversed(backends))
    reports = []
    for name in order:
        backend, int8 = split_run_backend(name)
        reports.append(train(backend, steps=steps, seed=seed, profile=profile, model_dir=model_dir, int8=int8,
                             eval_episodes=eval_episodes, table_rows=0,
                             progress_bar=progress_bar and f"run {run + 1}, seed {seed}, {name} reward"))
    return reports


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
                     address: str | None = None, cpus_per_task: float = 1.0, progress_bar: bool = False) -> dict:
    """Run ``runs`` trainings per backend (run i uses seed + i for every backend, backends alternate).

    ``backends``: reward backends or ``openvino-int8`` (OpenVINO on the classifier's shipped INT8 model);
    ``int8`` is its older spelling, making every ``openvino`` entry ``openvino-int8``. ``executor="ray"`` runs each
    run (all backends of one seed) as a Ray task reserving ``cpus_per_task`` CPUs, at ``address`` (None:
    a local Ray instance); results aggregate as for local runs, and each run records its host.
    ``progress_bar``: local runs show their progress on stderr.
    """
    if runs < 1 or steps < 1:
        raise ValueError(f"runs and steps must be positive, got runs={runs}, steps={steps}")
    backends = [run_backend_name(*split_run_backend(name, int8)) for name in backends]
    if not backends or len(set(backends)) != len(backends):
        raise ValueError(f"compare needs distinct backends, got {backends}")
    for name in backends:  # before the first run, not after the baseline's: INT8 runs in the fast profile only
        backend, int8_model = split_run_backend(name)
        backend_options_for(backend, profile, int8_model)
    shown = progress_bar and executor == "local" and address is None  # not from Ray workers
    arguments = [(backends, run, seed + run, steps, profile, eval_episodes, model_dir, shown) for run in range(runs)]
    reports: dict[str, list[TrainingReport]] = {b: [] for b in backends}
    hosts: dict[str, list[str]] = {b: [] for b in backends}
    for host, run_reports in _runs(arguments, executor, address, cpus_per_task):
        for report in run_reports:
            reports[report_name(report)].append(report)
            hosts[report_name(report)].append(host)
            if on_run is not None:
                on_run(report)
    rows = []
    reference = statistics.mean(r.total_s for r in reports[backends[0]])
    share = statistics.mean(r.reward_s for r in reports[backends[0]]) / reference
    samples = reward_call_samples(backends, profile, model_dir, progress_bar=shown)
    speedups = {b: ratio_iqr(samples[backends[0]], ms) for b, ms in samples.items()} if samples else {}
    by_seed = {r.seed: r.total_s for r in reports[backends[0]]}
    for backend, items in reports.items():
        total = statistics.mean(r.total_s for r in items)
        # the saving of each run against the baseline run of the same seed (same host): its spread
        savings = [100.0 * (by_seed[r.seed] - r.total_s) / by_seed[r.seed] for r in items if r.seed in by_seed]
        q1, _, q3 = quartiles(savings) if len(savings) > 1 else (None, None, None)
        speedup = speedups.get(backend)
        rows.append({
            "backend": backend, "runs": len(items), "steps": steps, "profile": profile,
            "mean_total_s": total, "mean_reward_s": statistics.mean(r.reward_s for r in items),
            **{f"mean_{part}": statistics.mean(getattr(r, part) for r in items)
               for part in ("physics_s", "render_s", "learning_s", "other_s")},
            "mean_step_ms": 1000 * total / steps,
            "saving_vs_first_pct": 100.0 * (reference - total) / reference,
            "saving_vs_first_pct_iqr": None if q1 is None else [q1, q3],
            "speedup_vs_first": speedup.value if speedup else None,
            "speedup_vs_first_iqr": None if speedup is None or speedup.width is None else [speedup.low, speedup.high],
            "training_reward_ratio": (statistics.mean(r.reward_s for r in reports[backends[0]])
                                      / statistics.mean(r.reward_s for r in items)
                                      if all(r.reward_s > 0 for r in items) else None),
            "predicted_saving_pct": (100.0 * predicted_saving(share, speedup.value) if speedup else None),
            # None when the runs were not evaluated (eval_episodes 0)
            "success_rate": statistics.mean(rates) if (rates := [r.evaluation["success_rate"] for r in items
                                                                 if "success_rate" in r.evaluation]) else None,
        })
    return {"rows": rows, "executor": executor,
            "runs": {b: [{**asdict(r), "host": host} for r, host in zip(items, hosts[b])] for b, items in reports.items()}}


def chart_rows(rows: list[dict]) -> list[tuple[str, dict]]:
    """(label, mean time parts) per compared backend, for ``plots.time_split_png``."""
    return [(f"{row['backend']} ({row['profile']})", {part: row[f"mean_{part}"] for part in
                                                     ("physics_s", "render_s", "reward_s", "learning_s", "other_s")})
            for row in rows]


def reward_call_samples(backends: list[str], profile: str, model_dir=None, steps: int = 150,
                        rounds: int = 3, progress_bar: bool = False) -> dict[str, list[float]]:
    """Each backend's mean reward-call seconds per round, timed inside an env step loop (the same seeded
    actions for all, backends interleaved round by round): a call between physics and rendering costs
    more than one alone, so isolated calls would overstate the speed-up. The oracle has no call: empty
    when the first backend is the oracle. ``backends``: run backend names (``openvino-int8`` included).
    ``progress_bar``: show the rounds on stderr (this runs after the trainings, for about a minute)."""
    import numpy as np

    from panda_env.training.runs import make_env

    timed = [b for b in backends if b != "oracle"]
    if backends[0] not in timed:
        return {}
    from panda_env.training.bar import progress

    bar = progress(len(timed) * rounds, "timing each reward call in a step loop", unit="round") if progress_bar else None
    envs = {}
    for name in timed:
        backend, int8 = split_run_backend(name)
        envs[name] = make_env(backend, profile, model_dir=model_dir, int8=int8)
    try:
        actions = np.random.default_rng(0).uniform(-0.1, 0.1, size=(steps, 2)).astype(np.float32)
        per_call: dict[str, list[float]] = {b: [] for b in envs}
        for _ in range(rounds):
            for backend, env in envs.items():
                before_s, before_calls = env.reward_timer.total_s, env.reward_timer.calls
                env.reset(seed=0)
                for action in actions:
                    if any(env.step(action)[2:4]):
                        env.reset()
                calls = env.reward_timer.calls - before_calls
                per_call[backend].append((env.reward_timer.total_s - before_s) / max(calls, 1))
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        for env in envs.values():
            env.close()
    return per_call


def compare_warnings(rows: list[dict], load: float | None = None, cores: int | None = None) -> list[str]:
    """What a reader of ``compare``'s table must be told: savings or speed-ups within their spread, a busy
    machine, and a reward-call speed-up that the training runs' own reward times contradict."""
    from panda_env.bench.spread import keyed_spread, noise_warnings

    figures = {}
    for row in rows[1:]:
        for key, label, no_effect in (("saving_vs_first_pct", "saving", 0.0), ("speedup_vs_first", "reward call speed-up", 1.0)):
            spread = keyed_spread(row, key)
            if spread is not None:
                figures[f"{row['backend']}'s {label}"] = (spread, no_effect)
    warnings = noise_warnings(figures, load, cores)
    for row in rows[1:]:
        loop, inside = row.get("speedup_vs_first"), row.get("training_reward_ratio")
        if loop and inside and ((loop > 1) != (inside > 1) or max(loop / inside, inside / loop) > 2):
            warnings.append(f"WARNING: {row['backend']}'s reward call was {loop:.2f}x faster in the step loop but "
                            f"{inside:.2f}x in the training runs (their reward inference seconds): the two "
                            f"measurements contradict each other, so the machine's load changed between them")
    return warnings
