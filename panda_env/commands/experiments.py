"""Experiments of many trainings: ``compare`` (the original demo's experiment) and ``solve-time``."""

from __future__ import annotations

import argparse
from pathlib import Path

from panda_env.commands.common import (
    ENGINE_HELP,
    UserError,
    add_command,
    fraction,
    log,
    non_negative_int,
    plural,
    positive_int,
    print_table,
    save_json,
    seed_int,
    seed_list,
    start_benchmark,
)
from panda_env.envs.task import INT8_BACKEND, REWARD_BACKENDS, RUN_BACKENDS
from panda_env.training.profiles import LEARNERS, PROFILE_CHOICES


def cmd_compare(args) -> int:
    from panda_env.bench.compare import compare_backends, compare_warnings, report_name
    from panda_env.bench.spread import format_percent, format_ratio, keyed_spread

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in RUN_BACKENDS]
    if unknown or not backends:
        raise UserError(f"unknown backend(s) {unknown or args.backends!r}; allowed: {', '.join(RUN_BACKENDS)}")
    if args.int8:  # the older spelling: every openvino entry is openvino-int8
        backends = [INT8_BACKEND if b == "openvino" else b for b in backends]
    if len(set(backends)) != len(backends):
        raise UserError(f"--backends names a backend twice: {backends}")
    steps = args.steps or (300 if args.profile in ("original", "seed") else 8000)
    start_benchmark(args.json, args.chart)
    if args.address is not None and args.executor != "ray":
        raise UserError("--address needs --executor ray")
    result = compare_backends(backends, runs=args.runs, steps=steps, seed=args.seed, profile=args.profile,
                              eval_episodes=args.eval_episodes, executor=args.executor,
                              address=args.address, cpus_per_task=args.cpus_per_task, progress_bar=True,
                              on_run=lambda r: log.info(f"  run: {report_name(r)} seed {r.seed}: {r.total_s:.1f} s "
                                                     f"(reward {r.reward_s:.1f} s)"))
    runs = plural(args.runs, "run")
    log.info(f"profile {args.profile}, {steps} steps a run, {runs} per backend (means); predicted saving = the "
          f"{backends[0]} runs' reward share x (1 - 1/speed-up of a reward call inside an env step loop)")
    headers = ["backend", f"saving vs {backends[0]}", "predicted saving", "reward call speed-up",
               "true-goal success", "total s", "ms per step", "reward inference s"]
    table = [[row["backend"], format_percent(keyed_spread(row, "saving_vs_first_pct")),
              "-" if row["predicted_saving_pct"] is None else f"{row['predicted_saving_pct']:.1f}%",
              format_ratio(keyed_spread(row, "speedup_vs_first")),
              "not evaluated" if row["success_rate"] is None else f"{row['success_rate']:.0%}",
              f"{row['mean_total_s']:.1f}", f"{row['mean_step_ms']:.1f}", f"{row['mean_reward_s']:.1f}"]
             for row in result["rows"]]
    print_table(headers, table, args.markdown)
    for warning in compare_warnings(result["rows"]):
        log.info(warning)
    save_json(args.json, result)
    if args.chart is not None:
        from panda_env.bench.compare import chart_rows
        from panda_env.training.plots import time_split_png

        time_split_png(chart_rows(result["rows"]), args.chart,
                       f"mean training time per reward backend, {steps} steps, {runs}")
        log.info(f"wrote {args.chart}")
    return 0


def cmd_solve_time(args) -> int:
    from panda_env.bench.solve_time import solve_time
    from panda_env.bench.tables import ratio
    from panda_env.training.solved import SolvedRule

    start_benchmark(args.json)
    rule = SolvedRule(target=args.target_success, every=args.check_every, episodes=args.check_episodes)
    result = solve_time(args.seeds, args.backend, args.steps, rule, args.seed_steps, progress_bar=True,
                        learner=args.learner,
                        on_run=lambda r: log.info(f"  run: {r.backend} ({r.profile}) seed {r.seed}: {r.steps} steps, "
                                               f"{r.total_s:.1f} s"))
    demo = result["demo"]
    log.info(f"the original demo's training, original profile with Torch: {demo['step_s'] * 1000:.0f} ms a step "
          f"(measured on {demo['steps_measured']} steps) x {demo['steps']} steps = {demo['total_s']:.0f} s")
    headers = ["seed", "times less than the demo", "training s to solve", "steps to solve", "confirmed success",
               "check s (not counted)"]
    table = [[row["seed"], ratio(row["times_less_than_demo"]),
              "not solved" if row["train_s_to_solve"] is None else f"{row['train_s_to_solve']:.1f}",
              row["steps_to_solve"] or "-", f"{row['confirmed_success']:.0%}", f"{row['check_s']:.1f}"]
             for row in result["rows"]]
    print_table(headers, table, args.markdown)
    save_json(args.json, result)
    return 0


COMMANDS = {"compare": cmd_compare, "solve-time": cmd_solve_time}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register this module's commands."""
    p = add_command(subparsers, "compare", "the original demo's experiment: training time per reward backend", run)
    p.add_argument("--backends", default="torch,openvino", help="comma-separated reward backends (openvino-int8: "
                                                                "the classifier's INT8 model on OpenVINO); the first "
                                                                "is the baseline of the saving")
    p.add_argument("--runs", type=positive_int, default=3, help="trainings per backend (backends alternate)")
    p.add_argument("--steps", type=positive_int, default=None, help="steps a run; None: 8000 in the fast "
                                                                    "profile, 300 in the original profile")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the first run (one more for each next)")
    p.add_argument("--profile", choices=PROFILE_CHOICES, default="fast",
                   help="fast: our settings; original (or seed, its old name): the original demo's scene, camera, "
                        "reward path and SAC settings")
    p.add_argument("--eval-episodes", type=non_negative_int, default=50, help="evaluation episodes after each run")
    p.add_argument("--int8", action="store_true", help="the old spelling of openvino-int8 in --backends: every "
                                                       "openvino entry runs the classifier's shipped INT8 model "
                                                       "(its rows and runs are filed as openvino-int8)")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: runs one after another here; ray: each run (all backends of one seed) is a Ray task")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray; None: start a local Ray)")
    p.add_argument("--cpus-per-task", type=float, default=1.0, help="CPUs each Ray task reserves")
    p.add_argument("--chart", type=Path, default=Path("runs/compare.png"),
                   help="PNG of the mean time split per backend")

    p = add_command(subparsers, "solve-time", "training time to a solved policy per seed, against the original demo's "
                                    "8000 steps (its cost per step measured in the same command)", run)
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="openvino", help=ENGINE_HELP)
    p.add_argument("--seeds", type=seed_list, default=(0, 1, 2), help="comma-separated training seeds")
    p.add_argument("--steps", type=positive_int, default=8000, help="step cap of each run")
    p.add_argument("--target-success", type=fraction, default=0.9, help="the success a check must reach")
    p.add_argument("--check-every", type=positive_int, default=100, help="steps between checks")
    p.add_argument("--check-episodes", type=positive_int, default=20, help="deterministic episodes a check runs")
    p.add_argument("--learner", choices=LEARNERS, default="fast",
                   help="who runs SAC's gradient steps: fast (FastSAC, SB3's update with less overhead, the same "
                        "learning) or sb3 (SB3's own SAC.train)")
    p.add_argument("--seed-steps", type=positive_int, default=100,
                   help="steps the original profile trains to measure its cost per step")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command."""
    return COMMANDS[args.command](args)
