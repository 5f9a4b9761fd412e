"""Benchmarks of one run: ``bench-env`` (env steps/s), ``bench-backends`` (reward-call latency), ``bench`` (the step
profiler), ``bench-learner`` (a SAC gradient step, SB3's against FastSAC)."""

from __future__ import annotations

import argparse
from pathlib import Path

from panda_env.commands.common import (
    BACKEND_HELP,
    INT8_HELP,
    MODEL_HELP,
    add_command,
    log,
    positive_int,
    positive_int_list,
    print_table,
    reward_choices,
    save_json,
    start_benchmark,
)
from panda_env.envs.task import IMAGE_SIZE, REWARD_BACKENDS


def cmd_bench_env(args) -> int:
    from panda_env.bench.env_rate import render_quality_ratio
    from panda_env.training.runs import backend_options_for

    options = backend_options_for(args.backend, "fast", args.int8)
    start_benchmark()
    result = render_quality_ratio(args.steps, args.rounds, reward_backend=args.backend, image_size=args.image_size,
                                  backend_options=options, progress_bar=True)
    reward = f"{args.backend} INT8" if args.int8 else args.backend
    log.info(f"env steps/s, reward={reward}, image {args.image_size}px, {args.steps} steps x {args.rounds} rounds "
          f"(median), rendering every step:")
    log.info(f"  fast / full ratio:   {result['ratio']:8.2f}x")
    log.info(f"  fast render quality: {result['fast']:8.1f} steps/s")
    log.info(f"  full render quality: {result['full']:8.1f} steps/s")
    return 0


def cmd_bench_backends(args) -> int:
    from panda_env.bench.backends import backend_latency_table
    from panda_env.bench.spread import format_ratio, keyed_spread, noise_warnings
    from panda_env.bench.tables import ms, ratio

    start_benchmark()
    rows = backend_latency_table(args.model, batch_sizes=(1, 8), rounds=args.rounds, threads=args.threads,
                                 progress_bar=True)
    per_image = {(row["backend"], row["batch"]): row["ms_per_image"] for row in rows}
    table = []
    for row in rows:
        single = per_image.get((row["backend"], 1))
        gain = single / row["ms_per_image"] if row["batch"] > 1 and single else None
        table.append([row["backend"], row["batch"], format_ratio(keyed_spread(row, "speedup_vs_torch")), ratio(gain),
                      ms(row["median_ms"]), f"{row['ms_per_image']:.3f}"])
    headers = ["backend", "batch", "speed-up vs torch", "batching gain per image", "median ms", "ms per image"]
    print_table(headers, table, args.markdown)
    figures = {f"{row['backend']} at batch {row['batch']}": (keyed_spread(row, "speedup_vs_torch"), 1.0)
               for row in rows if row["backend"] != "torch" and keyed_spread(row, "speedup_vs_torch")}
    for warning in noise_warnings(figures):
        log.info(warning)
    return 0


def cmd_bench(args) -> int:
    from panda_env.bench.spread import format_ratio, keyed_spread
    from panda_env.bench.step_profile import bench_warnings, profile_steps
    from panda_env.bench.tables import ms, percent

    start_benchmark(args.json)
    result = profile_steps(image_sizes=args.image_sizes, rounds=args.rounds, progress_bar=True)
    log.info("one run; median ms per part; step = arm move + render + reward + one SAC gradient step; predicted "
          "saving = reward share of the Torch step x (1 - 1/speed-up) (Amdahl's law)")
    headers = ["profile", "quality", "image", "OV speed-up vs torch", "OV predicted saving", "INT8 predicted saving",
               "reward share (torch)", "move", "render", "torch", "onnxruntime", "openvino", "openvino INT8", "SAC",
               "step (torch)", "step (openvino)"]
    table = [[row["profile"], row["render_quality"], row["image_size"], format_ratio(keyed_spread(row, "speedup_openvino")),
              percent(row.get("predicted_saving_openvino")), percent(row.get("predicted_saving_openvino-int8")),
              percent(row.get("reward_torch_share")), ms(row["move_ms"]), ms(row["render_ms"]),
              ms(row.get("reward_torch_ms")), ms(row.get("reward_onnxruntime_ms")), ms(row.get("reward_openvino_ms")),
              ms(row.get("reward_openvino-int8_ms")), ms(row["sac_learning_ms"]), ms(row.get("step_torch_ms")),
              ms(row.get("step_openvino_ms"))] for row in result["rows"]]
    print_table(headers, table, args.markdown)
    for warning in bench_warnings(result["rows"]):
        log.info(warning)
    default = next((r for r in result["rows"] if r["profile"] == "fast" and r["render_quality"] == "fast"
                    and r["image_size"] == IMAGE_SIZE), None)
    seed = next((r for r in result["rows"] if r["profile"] == "original"), None)
    if default and seed:
        log.info(f"training step, fast profile with OpenVINO against the original profile with Torch: "
              f"{seed['step_torch_ms'] / default['step_openvino_ms']:.1f}x cheaper "
              f"({default['step_openvino_ms']:.1f} ms against {seed['step_torch_ms']:.1f} ms)")
    save_json(args.json, result)
    return 0


def cmd_bench_learner(args) -> int:
    from panda_env.bench.learner import learner_step_costs

    start_benchmark(args.json)
    result = learner_step_costs(blocks=args.blocks, calls=args.calls)
    log.info(f"one SAC gradient step, fast profile (batch {result['batch_size']}, "
             f"{result['gradient_steps_per_call']} gradient steps a train call), {args.blocks} alternating blocks "
             f"of {args.calls} calls; medians, ms per gradient step:")
    print_table(["learner", "CPU ms", "wall ms"],
                [["SB3 SAC.train", f"{result['sb3_cpu_ms']:.2f}", f"{result['sb3_wall_ms']:.2f}"],
                 ["FastSAC.train", f"{result['fast_cpu_ms']:.2f}", f"{result['fast_wall_ms']:.2f}"]], args.markdown)
    low, high = result["cpu_ratio_iqr"]
    log.info(f"FastSAC is {result['cpu_ratio']:.2f}x cheaper in CPU time (IQR {low:.2f}-{high:.2f}x), "
             f"{result['wall_ratio']:.2f}x on the wall clock")
    save_json(args.json, result)
    return 0


COMMANDS = {"bench-env": cmd_bench_env, "bench-backends": cmd_bench_backends, "bench": cmd_bench,
            "bench-learner": cmd_bench_learner}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register this module's commands."""
    p = add_command(subparsers, "bench-env", "env steps per second, fast against full render quality", run)
    p.add_argument("--backend", choices=reward_choices(REWARD_BACKENDS), default="oracle", help=BACKEND_HELP)
    p.add_argument("--image-size", type=positive_int, default=IMAGE_SIZE, help="camera image size in pixels")
    p.add_argument("--steps", type=positive_int, default=300, help="timed env steps per round")
    p.add_argument("--rounds", type=positive_int, default=3, help="rounds per render quality, interleaved")
    p.add_argument("--int8", action="store_true", help=INT8_HELP)

    p = add_command(subparsers, "bench-backends", "per-call latency of the three engines (and of the classifier "
                                        "directory's INT8 model, if it has int8/), batch 1 and 8", run)
    p.add_argument("--model", type=Path, default=None, help=MODEL_HELP)
    p.add_argument("--rounds", type=positive_int, default=200, help="timed calls per engine and batch size")
    p.add_argument("--threads", type=positive_int, default=None, help="threads of every engine (None: each "
                                                                         "engine's default)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")

    p = add_command(subparsers, "bench", "step profiler: the cost of each part of a training step, and its shares", run)
    p.add_argument("--image-sizes", type=positive_int_list, default=(48, 96),
                   help="comma-separated camera image sizes in pixels")
    p.add_argument("--rounds", type=positive_int, default=50, help="timed calls per part")
    p.add_argument("--json", type=Path, default=Path("runs/bench.json"), help="where to write the results")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")


    p = add_command(subparsers, "bench-learner", "one SAC gradient step: SB3's own SAC.train against FastSAC "
                                                 "(the fast learner) on the same networks and batch", run)
    p.add_argument("--blocks", type=positive_int, default=7, help="alternating blocks per learner")
    p.add_argument("--calls", type=positive_int, default=25, help="train calls per block")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command."""
    return COMMANDS[args.command](args)
