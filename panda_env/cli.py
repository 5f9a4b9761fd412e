"""Command line: ``python -m panda_env <command>`` (console script ``panda-env``).

User mistakes (bad values, missing files) end with a one-line error and exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from pathlib import Path

from panda_env.envs.task import IMAGE_SIZE, REWARD_BACKENDS
from panda_env.training.profiles import PROFILE_CHOICES
from pytest_drlreward.atomic import write_text_atomic
from pytest_drlreward.backends import BACKEND_NAMES

log = logging.getLogger("panda_env.cli")


class _StdoutHandler(logging.StreamHandler):
    """Writes each record to whatever ``sys.stdout`` is at that moment (main() may run many times)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in the help, but none for a required option, and a list default as it is typed (``0,1,2``)."""

    def _get_help_string(self, action):
        return action.help if action.required else super()._get_help_string(action)

    def _expand_help(self, action):
        if isinstance(action.default, (tuple, list)):
            action = copy.copy(action)
            action.default = ",".join(str(item) for item in action.default)
        return super()._expand_help(action)


class UserError(Exception):
    """A mistake in the command line or its inputs; printed without a traceback."""


def _number(cast, accept, requirement: str):
    """An argparse type: ``cast(text)`` if ``accept`` holds for it, else an error naming ``requirement``."""
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    return parse


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
fraction = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
seed_int = _number(int, lambda v: 0 <= v <= 2**32 - 1, "an integer in [0, 2**32 - 1] (what Gymnasium and NumPy take)")


def _list_of(item, example: str):
    """An argparse type: a comma list of ``item`` values, e.g. ``example``."""
    def parse(text: str) -> tuple:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"give a comma-separated list, e.g. {example}; got {text!r}")
        return tuple(item(part) for part in parts)

    return parse


positive_int_list = _list_of(positive_int, "48,96")
seed_list = _list_of(non_negative_int, "0,1,2")


def _start_benchmark(*outputs: Path | None) -> None:
    """Check a benchmark's output files before the work (their directory is made), then print the machine."""
    from panda_env.bench.machine import describe_machine

    for path in outputs:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            writable_file(path)
    print(describe_machine())


def writable_file(path: Path) -> Path:
    """Raise UserError unless ``path`` can be written (its directory exists and takes a new file)."""
    from pytest_drlreward.atomic import check_writable

    if path.is_dir():
        raise UserError(f"{path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: directory {path.parent} does not exist")
    check_writable(path.parent)
    return path


def plural(count: int, noun: str) -> str:
    """``1 episode``, ``3 episodes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


# -- commands ---------------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    import gymnasium as gym

    import panda_env  # noqa: F401  (registers the env)

    env = gym.make("PandaHover-v0", reward_backend=args.backend, image_size=args.image_size)
    try:
        obs, _ = env.reset(seed=args.seed)
        print(f"reward backend: {args.backend}; reset: gripper at x={obs[0]:.3f} y={obs[1]:.3f}")
        object_xy = env.unwrapped.object_xy
        for step in range(1, 11):
            # Head for the object, at most 0.1 m per axis.
            action = (object_xy - obs).clip(-0.1, 0.1).astype("float32")
            obs, reward, terminated, truncated, info = env.step(action)
            print(f"step {step}: action=({action[0]:+.3f}, {action[1]:+.3f}) gripper=({obs[0]:.3f}, {obs[1]:.3f}) "
                  f"reward={reward:+.0f} goal_probability={info['goal_probability']:.3f} "
                  f"true_goal={info['true_goal']}")
            if terminated or truncated:
                print("episode ended:", "goal reached" if terminated else "step limit")
                break
    finally:
        env.close()
    return 0


def cmd_bench_env(args) -> int:
    from panda_env.bench.env_rate import render_quality_ratio
    from panda_env.training.runs import backend_options_for

    options = backend_options_for(args.backend, "fast", args.int8)
    _start_benchmark()
    result = render_quality_ratio(args.steps, args.rounds, reward_backend=args.backend, image_size=args.image_size,
                                  backend_options=options, progress_bar=True)
    reward = f"{args.backend} INT8" if args.int8 else args.backend
    print(f"env steps/s, reward={reward}, image {args.image_size}px, {args.steps} steps x {args.rounds} rounds "
          f"(median), rendering every step:")
    print(f"  fast / full ratio:   {result['ratio']:8.2f}x")
    print(f"  fast render quality: {result['fast']:8.1f} steps/s")
    print(f"  full render quality: {result['full']:8.1f} steps/s")
    return 0


def cmd_capture(args) -> int:
    from pytest_drlreward.atomic import check_target, check_writable

    check_target(args.out, args.overwrite)  # before the long capture, not after
    check_writable(args.out)
    from panda_env.training.bar import progress
    from panda_env.training.capture import capture, save_capture

    with progress(args.n, "capture", unit="image") as bar:
        data = capture(args.n, args.seed, image_size=args.image_size, render_quality=args.render_quality,
                       progress=bar.update)
    save_capture(data, args.out, overwrite=args.overwrite)
    print(f"wrote {args.n} images to {args.out}: {data.manifest['counts']}")
    return 0


def cmd_train_classifier(args) -> int:
    from pytest_drlreward.atomic import check_target, check_writable

    check_target(args.out, args.overwrite)  # before training, not after
    check_writable(args.out)
    from panda_env.training.capture import load_capture
    from panda_env.training.classifier import export_trained, train_classifier

    data = load_capture(args.data)
    result = train_classifier(data, epochs=args.epochs, seed=args.seed, architecture=args.architecture)
    model_dir = export_trained(result, data, args.out, seed=args.seed, architecture=args.architecture,
                               overwrite=args.overwrite)
    print(f"best validation accuracy {result.val_accuracy:.4f}; held-out accuracy {result.test_accuracy:.4f} "
          f"({result.split['test']} images never trained on)")
    print(f"wrote {model_dir.path}")
    return 0


def cmd_evaluate_classifier(args) -> int:
    from panda_env.reward import load_backend
    from panda_env.training.capture import load_capture

    data = load_capture(args.data)
    backend = load_backend(args.backend, args.model)
    predicted = backend.predict_goal(data.images).astype(int)
    correct = predicted == data.labels
    print(f"{backend.name} on {args.data}: accuracy {correct.mean():.4f} ({int(correct.sum())}/{len(correct)}); "
          f"false goals {int(((predicted == 1) & (data.labels == 0)).sum())}, "
          f"missed goals {int(((predicted == 0) & (data.labels == 1)).sum())}")
    return 0


def cmd_bench_backends(args) -> int:
    from panda_env.bench.backends import backend_latency_table
    from panda_env.bench.spread import format_ratio, keyed_spread, noise_warnings
    from panda_env.bench.tables import ms, ratio, render

    _start_benchmark()
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
    print("\n".join(render(headers, table, args.markdown)))
    figures = {f"{row['backend']} at batch {row['batch']}": (keyed_spread(row, "speedup_vs_torch"), 1.0)
               for row in rows if row["backend"] != "torch" and keyed_spread(row, "speedup_vs_torch")}
    for warning in noise_warnings(figures):
        print(warning)
    return 0


def cmd_quantize(args) -> int:
    from panda_env.reward import open_model_dir
    from panda_env.reward.quantize import INT8_SUBDIR, check_int8_target

    directory = open_model_dir(args.model)
    out = args.out if args.out is not None else directory.path / INT8_SUBDIR
    check_int8_target(out, directory, args.overwrite)  # before loading and quantising, not after
    from panda_env.bench.backends import int8_comparison
    from panda_env.reward.quantize import INT8_METADATA, quantize_classifier
    from panda_env.training.capture import load_capture

    data = load_capture(args.data)
    if data.images.shape[1:] != directory.image_shape:
        raise UserError(f"{args.data} holds images of shape {data.images.shape[1:]}, but the classifier "
                        f"{directory.path} takes {directory.image_shape}; capture with --image-size "
                        f"{directory.image_shape[0]}")
    quantize_classifier(directory, data.images, out, subset_size=args.subset, overwrite=args.overwrite)
    calibrated = json.loads((out / INT8_METADATA).read_text())["calibration_images"]
    print(f"wrote {out}: INT8 classifier calibrated on {calibrated} of the {len(data.images)} images in {args.data}")
    result = int8_comparison(directory, data.images, data.labels, int8_model=out, rounds=args.rounds)
    print(f"INT8 vs f32 argmax agreement {result['agreement']:.4f} ({result['agree']}/{result['n']} images); "
          f"accuracy f32 {result['accuracy']['f32']:.4f}, INT8 {result['accuracy']['int8']:.4f}")
    print("OpenVINO median ms per call (f32 and INT8 interleaved):")
    print(f"{'batch':>5} {'f32 ms':>8} {'INT8 ms':>8} {'f32/INT8':>9}")
    for batch, ms in result["latency_ms"].items():
        print(f"{batch:>5} {ms['f32']:>8.3f} {ms['int8']:>8.3f} {ms['f32'] / ms['int8']:>8.2f}x")
    return 0


def cmd_bench(args) -> int:
    from panda_env.bench.spread import format_ratio, keyed_spread
    from panda_env.bench.step_profile import bench_warnings, profile_steps
    from panda_env.bench.tables import ms, percent, render

    _start_benchmark(args.json)
    result = profile_steps(image_sizes=args.image_sizes, rounds=args.rounds, progress_bar=True)
    print("one run; median ms per part; step = arm move + render + reward + one SAC gradient step; predicted "
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
    print("\n".join(render(headers, table, args.markdown)))
    for warning in bench_warnings(result["rows"]):
        print(warning)
    default = next((r for r in result["rows"] if r["profile"] == "fast" and r["render_quality"] == "fast"
                    and r["image_size"] == IMAGE_SIZE), None)
    seed = next((r for r in result["rows"] if r["profile"] == "original"), None)
    if default and seed:
        print(f"training step, fast profile with OpenVINO against the original profile with Torch: "
              f"{seed['step_torch_ms'] / default['step_openvino_ms']:.1f}x cheaper "
              f"({default['step_openvino_ms']:.1f} ms against {seed['step_torch_ms']:.1f} ms)")
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def cmd_train(args) -> int:
    from panda_env.training.sac import train
    from panda_env.training.solved import SolvedRule

    rule = None
    if args.until_solved or args.target_success is not None:
        rule = SolvedRule(target=args.target_success or 0.9, every=args.check_every, episodes=args.check_episodes)
    report = train(args.backend, steps=args.steps, seed=args.seed, out_dir=args.out, profile=args.profile,
                   model_dir=args.model, eval_episodes=args.eval_episodes, progress_bar=True,
                   verbose=1 if args.verbose else 0, n_envs=args.n_envs, int8=args.int8, overwrite=args.overwrite,
                   until_solved=rule)
    envs = f", {args.n_envs} envs batched" if args.n_envs > 1 else ""
    reward = f"{report.backend} INT8" if args.int8 else report.backend
    print(f"trained SAC for {report.steps} steps with the {reward} reward ({report.profile} profile{envs})")
    print(f"  total {report.total_s:.1f} s ({report.steps_per_s:.1f} steps/s): physics {report.physics_s:.1f} s, "
          f"rendering {report.render_s:.1f} s, reward inference {report.reward_s:.1f} s "
          f"({report.reward_calls} calls), learning {report.learning_s:.1f} s, other {report.other_s:.1f} s")
    solved = report.until_solved
    if solved:
        if solved["solved"]:
            print(f"  solved after {solved['steps_to_solve']} steps and {solved['train_s_to_solve']:.1f} s of training: "
                  f"a check reached {solved['checks'][-1]['success_rate']:.0%} true-goal success over "
                  f"{plural(solved['episodes'], 'episode')} (checks every {solved['every']} steps took {solved['check_s']:.1f} s "
                  f"more, not counted)")
        else:
            best = max((c["success_rate"] for c in solved["checks"]), default=0.0)
            print(f"  not solved within {report.steps} steps: the best check reached {best:.0%} "
                  f"(target {solved['target']:.0%}); raise --steps")
    if report.evaluation:
        ev = report.evaluation
        what = "confirmation" if solved else "evaluation"
        print(f"  {what}: true-goal success {ev['success_rate']:.0%} over {plural(ev['episodes'], 'fresh episode')}, "
              f"mean length {ev['mean_length']:.2f}")
    if args.out is not None:
        pictures = ", ".join(Path(p).name for p in report.pictures)
        print(f"  wrote {args.out}/: agent.zip, report.json, {pictures}")
    if report.interrupted:
        kept = (f"kept the agent trained so far in {args.out}/agent.zip; report.json says interrupted"
                if args.out is not None else "nothing saved (no --out)")
        print(f"panda_env train: interrupted after {report.steps} steps (no evaluation): {kept}", file=sys.stderr)
        return 130
    return 0


def cmd_evaluate(args) -> int:
    from panda_env.training.evaluate import evaluate_policy_success, load_agent

    if args.gif is not None:
        writable_file(args.gif)
        if args.gif.exists() and not args.overwrite:  # the one rule of every output: train refuses too
            raise UserError(f"{args.gif} exists; give --overwrite to replace it")
    agent = load_agent(args.agent)
    result = evaluate_policy_success(agent, args.episodes, seed=args.seed, gif_path=args.gif,
                                     gif_backend=args.backend)
    print(f"true-goal success {result.success_rate:.0%} over {plural(result.episodes, 'episode')}, "
          f"mean episode length {result.mean_length:.2f} (episodes end on the simulator's truth, the oracle)")
    if args.gif:
        print(f"wrote {args.gif}: {min(3, args.episodes)} episodes, goal probability from the {args.backend} reward")
    return 0


def cmd_compare(args) -> int:
    from panda_env.bench.compare import compare_backends, compare_warnings
    from panda_env.bench.spread import format_percent, format_ratio, keyed_spread
    from panda_env.bench.tables import render

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in REWARD_BACKENDS]
    if unknown or not backends:
        raise UserError(f"unknown backend(s) {unknown or args.backends!r}; allowed: {', '.join(REWARD_BACKENDS)}")
    steps = args.steps or (300 if args.profile in ("original", "seed") else 8000)
    _start_benchmark(args.json, args.chart)
    if args.address is not None and args.executor != "ray":
        raise UserError("--address needs --executor ray")
    result = compare_backends(backends, runs=args.runs, steps=steps, seed=args.seed, profile=args.profile,
                              eval_episodes=args.eval_episodes, int8=args.int8, executor=args.executor,
                              address=args.address, cpus_per_task=args.cpus_per_task, progress_bar=True,
                              on_run=lambda r: print(f"  run: {r.backend} seed {r.seed}: {r.total_s:.1f} s "
                                                     f"(reward {r.reward_s:.1f} s)", flush=True))
    runs = plural(args.runs, "run")
    print(f"profile {args.profile}, {steps} steps a run, {runs} per backend (means); predicted saving = the "
          f"{backends[0]} runs' reward share x (1 - 1/speed-up of a reward call inside an env step loop)")
    headers = ["backend", f"saving vs {backends[0]}", "predicted saving", "reward call speed-up",
               "true-goal success", "total s", "ms per step", "reward inference s"]
    table = [[row["backend"], format_percent(keyed_spread(row, "saving_vs_first_pct")),
              "-" if row["predicted_saving_pct"] is None else f"{row['predicted_saving_pct']:.1f}%",
              format_ratio(keyed_spread(row, "speedup_vs_first")), f"{row['success_rate']:.0%}",
              f"{row['mean_total_s']:.1f}", f"{row['mean_step_ms']:.1f}", f"{row['mean_reward_s']:.1f}"]
             for row in result["rows"]]
    print("\n".join(render(headers, table, args.markdown)))
    for warning in compare_warnings(result["rows"]):
        print(warning)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.chart is not None:
        from panda_env.bench.compare import chart_rows
        from panda_env.training.plots import time_split_png

        time_split_png(chart_rows(result["rows"]), args.chart,
                       f"mean training time per reward backend, {steps} steps, {runs}")
        print(f"wrote {args.chart}")
    return 0


def cmd_solve_time(args) -> int:
    from panda_env.bench.solve_time import solve_time
    from panda_env.bench.tables import ratio, render
    from panda_env.training.solved import SolvedRule

    _start_benchmark(args.json)
    rule = SolvedRule(target=args.target_success, every=args.check_every, episodes=args.check_episodes)
    result = solve_time(args.seeds, args.backend, args.steps, rule, args.seed_steps, progress_bar=True,
                        on_run=lambda r: print(f"  run: {r.backend} ({r.profile}) seed {r.seed}: {r.steps} steps, "
                                               f"{r.total_s:.1f} s", flush=True))
    demo = result["demo"]
    print(f"the original demo's training, original profile with Torch: {demo['step_s'] * 1000:.0f} ms a step "
          f"(measured on {demo['steps_measured']} steps) x {demo['steps']} steps = {demo['total_s']:.0f} s")
    headers = ["seed", "times less than the demo", "training s to solve", "steps to solve", "confirmed success",
               "check s (not counted)"]
    table = [[row["seed"], ratio(row["times_less_than_demo"]),
              "not solved" if row["train_s_to_solve"] is None else f"{row['train_s_to_solve']:.1f}",
              row["steps_to_solve"] or "-", f"{row['confirmed_success']:.0%}", f"{row['check_s']:.1f}"]
             for row in result["rows"]]
    print("\n".join(render(headers, table, args.markdown)))
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _command(sub, name: str, help_text: str, func, overwrite: str | None = None) -> argparse.ArgumentParser:
    """A sub-command; ``overwrite``: the help of its ``--overwrite`` flag, if it writes an output that exists."""
    parser = sub.add_parser(name, help=help_text, description=help_text,
                            formatter_class=HelpFormatter)
    parser.set_defaults(func=func)
    if overwrite is not None:
        parser.add_argument("--overwrite", action="store_true", help=overwrite)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="panda_env", description=__doc__.splitlines()[0].replace("``", ""),
                                     formatter_class=HelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log debug messages, and stable-baselines3's own log while training")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    backend_help = "what decides the reward: the simulator's truth (oracle) or the classifier on an engine"
    int8_help = "run the classifier's shipped INT8 OpenVINO model (openvino backend, fast profile only)"
    model_help = "classifier directory; None: the one shipped in panda_env"

    p = _command(sub, "demo", "run one short episode heading for the object, printing each step", cmd_demo)
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="oracle", help=backend_help)
    p.add_argument("--image-size", type=positive_int, default=IMAGE_SIZE, help="camera image size in pixels")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the episode's start")

    p = _command(sub, "bench-env", "env steps per second, fast against full render quality", cmd_bench_env)
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="oracle", help=backend_help)
    p.add_argument("--image-size", type=positive_int, default=IMAGE_SIZE, help="camera image size in pixels")
    p.add_argument("--steps", type=positive_int, default=300, help="timed env steps per round")
    p.add_argument("--rounds", type=positive_int, default=3, help="rounds per render quality, interleaved")
    p.add_argument("--int8", action="store_true", help=int8_help)

    replace_output = "replace an existing output directory"
    p = _command(sub, "capture", "render labelled camera images for the classifier", cmd_capture, replace_output)
    p.add_argument("--out", required=True, type=Path, help="new capture directory")
    p.add_argument("--n", type=positive_int, default=4000, help="number of images")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the sampled gripper positions")
    p.add_argument("--image-size", type=positive_int, default=IMAGE_SIZE, help="camera image size in pixels")
    p.add_argument("--render-quality", choices=("fast", "full"), default="fast",
                   help="fast: low-polygon arm; full: the original meshes")

    p = _command(sub, "train-classifier", "train SqueezeNet from scratch and export the classifier directory",
                 cmd_train_classifier, replace_output)
    p.add_argument("--data", required=True, type=Path, help="capture directory to train on")
    p.add_argument("--out", required=True, type=Path, help="new classifier directory")
    p.add_argument("--epochs", type=positive_int, default=25, help="training epochs")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the split, the weights and the batches")
    p.add_argument("--architecture", choices=("squeezenet1_1", "squeezenet1_0"), default="squeezenet1_1",
                   help="torchvision SqueezeNet variant")

    p = _command(sub, "evaluate-classifier", "accuracy of a classifier on a capture directory",
                 cmd_evaluate_classifier)
    p.add_argument("--data", required=True, type=Path, help="capture directory with labelled images")
    p.add_argument("--model", type=Path, default=None, help=model_help)
    p.add_argument("--backend", choices=BACKEND_NAMES, default="openvino", help="engine that runs the classifier")

    p = _command(sub, "bench-backends", "per-call latency of the three engines (and of the classifier "
                                        "directory's INT8 model, if it has int8/), batch 1 and 8", cmd_bench_backends)
    p.add_argument("--model", type=Path, default=None, help=model_help)
    p.add_argument("--rounds", type=positive_int, default=200, help="timed calls per engine and batch size")
    p.add_argument("--threads", type=positive_int, default=None, help="threads of every engine (None: each "
                                                                         "engine's default)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")

    p = _command(sub, "quantize", "INT8 OpenVINO model of a classifier (NNCF), calibrated on a capture "
                                  "directory, compared with f32", cmd_quantize, replace_output)
    p.add_argument("--data", required=True, type=Path, help="capture directory: calibration and comparison images")
    p.add_argument("--model", type=Path, default=None, help=model_help)
    p.add_argument("--out", type=Path, default=None, help="output directory; None: MODEL/int8, which "
                                                          "int8_model=True and bench-backends use")
    p.add_argument("--subset", type=positive_int, default=300, help="calibration images, evenly spaced")
    p.add_argument("--rounds", type=positive_int, default=100, help="timed calls per backend and batch size")

    p = _command(sub, "bench", "step profiler: the cost of each part of a training step, and its shares", cmd_bench)
    p.add_argument("--image-sizes", type=positive_int_list, default=(48, 96),
                   help="comma-separated camera image sizes in pixels")
    p.add_argument("--rounds", type=positive_int, default=50, help="timed calls per part")
    p.add_argument("--json", type=Path, default=Path("runs/bench.json"), help="where to write the results")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")

    p = _command(sub, "train", "train SAC with a reward backend; print and save the timing split, the learning "
                               "curve and an evaluation GIF", cmd_train, "replace an earlier run in --out")
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="openvino", help=backend_help)
    p.add_argument("--steps", type=positive_int, default=8000, help="SAC training steps")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of SAC and of the episodes")
    p.add_argument("--out", type=Path, default=Path("runs/sac"), help="run directory: agent.zip, report.json, "
                                                                      "learning_curve.png, time_split.png, episode.gif")
    p.add_argument("--profile", choices=PROFILE_CHOICES, default="fast",
                   help="fast: our settings; original (or seed, its old name): the original demo's scene, camera, "
                        "reward path and SAC settings")
    p.add_argument("--model", type=Path, default=None, help=model_help)
    p.add_argument("--eval-episodes", type=non_negative_int, default=50,
                   help="deterministic evaluation episodes after training (0: none)")
    p.add_argument("--int8", action="store_true", help=int8_help)
    p.add_argument("--n-envs", type=positive_int, default=1,
                   help="envs stepped together, their images classified in one reward call per step")
    p.add_argument("--until-solved", action="store_true",
                   help="stop when a check reaches the target true-goal success (--steps is then the cap)")
    p.add_argument("--target-success", type=fraction, default=None,
                   help="the success a check must reach (implies --until-solved; None: 0.9)")
    p.add_argument("--check-every", type=positive_int, default=100, help="steps between checks (--until-solved)")
    p.add_argument("--check-episodes", type=positive_int, default=20,
                   help="deterministic episodes a check runs (--until-solved)")

    p = _command(sub, "evaluate", "deterministic evaluation of a trained agent (true-goal success)", cmd_evaluate,
                 "replace an existing --gif file")
    p.add_argument("--agent", required=True, type=Path, help="agent.zip written by train")
    p.add_argument("--episodes", type=positive_int, default=50, help="deterministic episodes")
    p.add_argument("--seed", type=seed_int, default=10_000, help="seed of the first episode (one more for each next)")
    p.add_argument("--gif", type=Path, default=None, help="write an animated GIF of the first 3 episodes")
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="openvino",
                   help="classifier whose goal probability the GIF shows (episodes always end on the truth)")

    p = _command(sub, "solve-time", "training time to a solved policy per seed, against the original demo's "
                                    "8000 steps (its cost per step measured in the same command)", cmd_solve_time)
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="openvino", help=backend_help)
    p.add_argument("--seeds", type=seed_list, default=(0, 1, 2), help="comma-separated training seeds")
    p.add_argument("--steps", type=positive_int, default=8000, help="step cap of each run")
    p.add_argument("--target-success", type=fraction, default=0.9, help="the success a check must reach")
    p.add_argument("--check-every", type=positive_int, default=100, help="steps between checks")
    p.add_argument("--check-episodes", type=positive_int, default=20, help="deterministic episodes a check runs")
    p.add_argument("--seed-steps", type=positive_int, default=100,
                   help="steps the original profile trains to measure its cost per step")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")

    p = _command(sub, "compare", "the original demo's experiment: training time per reward backend", cmd_compare)
    p.add_argument("--backends", default="torch,openvino", help="comma-separated reward backends; the first is "
                                                                "the baseline of the saving")
    p.add_argument("--runs", type=positive_int, default=3, help="trainings per backend (backends alternate)")
    p.add_argument("--steps", type=positive_int, default=None, help="steps a run; None: 8000 in the fast "
                                                                    "profile, 300 in the original profile")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the first run (one more for each next)")
    p.add_argument("--profile", choices=PROFILE_CHOICES, default="fast",
                   help="fast: our settings; original (or seed, its old name): the original demo's scene, camera, "
                        "reward path and SAC settings")
    p.add_argument("--eval-episodes", type=non_negative_int, default=50, help="evaluation episodes after each run")
    p.add_argument("--int8", action="store_true", help=int8_help)
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: runs one after another here; ray: each run (all backends of one seed) is a Ray task")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray; None: start a local Ray)")
    p.add_argument("--cpus-per-task", type=float, default=1.0, help="CPUs each Ray task reserves")
    p.add_argument("--chart", type=Path, default=Path("runs/compare.png"),
                   help="PNG of the mean time split per backend")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Show our own log lines (per-epoch training progress, ...), not those of every library we use.
    package_logger = logging.getLogger("panda_env")
    if not any(isinstance(h, _StdoutHandler) for h in package_logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    from panda_env.commands.needs import missing
    from panda_env.reward import BackendUnavailableError, ModelDirError

    try:
        absent = missing(args)  # before any work, not after the first half of a benchmark
        if absent:
            raise UserError(absent)
        return args.func(args)
    except (UserError, ModelDirError, BackendUnavailableError, OSError, ValueError) as error:
        print(f"panda_env {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"panda_env {args.command}: interrupted; every file it writes is written whole or not at all, "
              f"so nothing half-written was left", file=sys.stderr)
        return 130
