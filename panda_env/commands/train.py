"""``train``: SAC with a reward backend, its timing split, checks, pictures and report."""

from __future__ import annotations

import argparse
from pathlib import Path

from panda_env.commands.common import (
    BACKEND_HELP,
    INT8_HELP,
    MODEL_HELP,
    Interrupted,
    add_command,
    fraction,
    log,
    non_negative_int,
    plural,
    positive_int,
    reward_choices,
    seed_int,
)
from panda_env.envs.task import GOAL_RADIUS, MAX_GOAL_RADIUS, REWARD_BACKENDS
from panda_env.training.profiles import LEARNERS, PROFILE_CHOICES


def goal_radius(text: str) -> float:
    """A goal radius in metres, in (0, MAX_GOAL_RADIUS]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of metres") from None
    if not 0 < value <= MAX_GOAL_RADIUS:
        raise argparse.ArgumentTypeError(f"{text} is outside (0, {MAX_GOAL_RADIUS}] metres (episodes start "
                                         f"{MAX_GOAL_RADIUS} m from the object)")
    return value


def cmd_train(args) -> int:
    from panda_env.training.reward_audit import audit_lines
    from panda_env.training.sac import train
    from panda_env.training.solved import SolvedRule

    rule = None
    if args.until_solved or args.target_success is not None:
        rule = SolvedRule(target=args.target_success or 0.9, every=args.check_every, episodes=args.check_episodes)
    report = train(args.backend, steps=args.steps, seed=args.seed, out_dir=args.out, profile=args.profile,
                   model_dir=args.model, eval_episodes=args.eval_episodes, progress_bar=True,
                   verbose=1 if args.verbose else 0, n_envs=args.n_envs, int8=args.int8, overwrite=args.overwrite,
                   until_solved=rule, goal_radius=args.goal_radius, learner=args.learner)
    envs = f", {report.n_envs} envs batched" if report.n_envs > 1 else ""
    reward = f"{report.backend} INT8" if args.int8 else report.backend
    log.info(f"trained SAC for {report.steps} steps with the {reward} reward ({report.profile} profile{envs})")
    log.info(f"  total {report.total_s:.1f} s ({report.steps_per_s:.1f} steps/s): physics {report.physics_s:.1f} s, "
          f"rendering {report.render_s:.1f} s, reward inference {report.reward_s:.1f} s "
          f"({report.reward_calls} calls), learning {report.learning_s:.1f} s, other {report.other_s:.1f} s")
    solved = report.until_solved
    if solved:
        if solved["solved"]:
            log.info(f"  solved after {solved['steps_to_solve']} steps and {solved['train_s_to_solve']:.1f} s of training: "
                  f"a check reached {solved['checks'][-1]['success_rate']:.0%} true-goal success over "
                  f"{plural(solved['episodes'], 'episode')} (checks every {solved['every']} steps took {solved['check_s']:.1f} s "
                  f"more, not counted)")
        else:
            best = max((c["success_rate"] for c in solved["checks"]), default=0.0)
            log.info(f"  not solved within {report.steps} steps: the best check reached {best:.0%} "
                  f"(target {solved['target']:.0%}); raise --steps")
    if report.evaluation:
        ev = report.evaluation
        what = "confirmation" if solved else "evaluation"
        log.info(f"  {what}: true-goal success {ev['success_rate']:.0%} over {plural(ev['episodes'], 'fresh episode')}, "
              f"mean length {ev['mean_length']:.2f}")
    if args.out is not None:
        pictures = ", ".join(Path(p).name for p in report.pictures)
        audit = ", audit/ (the reward audit: audit.json, audit.png, false goals)" if report.audit.get("saved") else ""
        log.info(f"  wrote {args.out}/: agent.zip, report.json, {pictures}{audit}")
    for line in audit_lines(report.audit):  # the last lines: a run that exploits its reward says so
        log.info(line)
    if report.interrupted:
        kept = (f"kept the agent trained so far in {args.out}/agent.zip; report.json says interrupted"
                if args.out is not None else "nothing saved (no --out)")
        raise Interrupted(f"interrupted after {report.steps} steps (no evaluation): {kept}")
    return 0


COMMANDS = {"train": cmd_train}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register this module's commands."""
    p = add_command(subparsers, "train", "train SAC with a reward backend; print and save the timing split, the learning "
                               "curve and an evaluation GIF", run, "replace an earlier run in --out")
    p.add_argument("--backend", choices=reward_choices(REWARD_BACKENDS), default="openvino", help=BACKEND_HELP)
    p.add_argument("--steps", type=positive_int, default=8000, help="SAC training steps")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of SAC and of the episodes")
    p.add_argument("--out", type=Path, default=Path("runs/sac"), help="run directory: agent.zip, report.json, "
                                                                      "learning_curve.png, time_split.png, episode.gif, "
                                                                      "audit/")
    p.add_argument("--profile", choices=PROFILE_CHOICES, default="fast",
                   help="fast: our settings; original (or seed, its old name): the original demo's scene, camera, "
                        "reward path and SAC settings")
    p.add_argument("--model", type=Path, default=None, help=MODEL_HELP)
    p.add_argument("--eval-episodes", type=non_negative_int, default=50,
                   help="deterministic evaluation episodes after training (0: none)")
    p.add_argument("--int8", action="store_true", help=INT8_HELP)
    p.add_argument("--n-envs", type=positive_int, default=None,
                   help="envs stepped together, their images classified in one reward call per step (default: the "
                        "profile's: 2 in the fast profile, 1 in the original)")
    p.add_argument("--until-solved", action="store_true",
                   help="stop when a check reaches the target true-goal success (--steps is then the cap)")
    p.add_argument("--target-success", type=fraction, default=None,
                   help="the success a check must reach (implies --until-solved; None: 0.9)")
    p.add_argument("--check-every", type=positive_int, default=100, help="steps between checks (--until-solved)")
    p.add_argument("--check-episodes", type=positive_int, default=20,
                   help="deterministic episodes a check runs (--until-solved)")
    p.add_argument("--learner", choices=LEARNERS, default=None,
                   help="who runs SAC's gradient steps: fast (FastSAC: SB3's update with less overhead, the same learning) "
                        "or sb3 (SB3's own SAC.train); none: the profile's (fast for the fast profile)")
    p.add_argument("--goal-radius", type=goal_radius, default=None,
                   help=f"the simulator's goal radius in metres, which the reward audit and the evaluation judge "
                        f"against (none: the task's {GOAL_RADIUS}, what the shipped classifier learned; a smaller one shows a "
                        f"too generous classifier being exploited)")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command."""
    return COMMANDS[args.command](args)
