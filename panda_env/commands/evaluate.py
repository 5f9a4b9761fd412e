"""Episodes of the env and of a trained agent: ``demo`` (one scripted episode) and ``evaluate``."""

from __future__ import annotations

import argparse
from pathlib import Path

from panda_env.commands.common import (
    ENGINE_HELP,
    UserError,
    add_command,
    log,
    plural,
    positive_int,
    seed_int,
    writable_file,
)
from panda_env.envs.task import IMAGE_SIZE, REWARD_BACKENDS


def cmd_demo(args) -> int:
    import gymnasium as gym

    import panda_env  # noqa: F401  (registers the env)

    env = gym.make("PandaHover-v0", reward_backend=args.backend, image_size=args.image_size)
    try:
        obs, _ = env.reset(seed=args.seed)
        log.info(f"reward backend: {args.backend}; reset: gripper at x={obs[0]:.3f} y={obs[1]:.3f}")
        object_xy = env.unwrapped.object_xy
        for step in range(1, 11):
            # Head for the object, at most 0.1 m per axis.
            action = (object_xy - obs).clip(-0.1, 0.1).astype("float32")
            obs, reward, terminated, truncated, info = env.step(action)
            log.info(f"step {step}: action=({action[0]:+.3f}, {action[1]:+.3f}) gripper=({obs[0]:.3f}, {obs[1]:.3f}) "
                  f"reward={reward:+.0f} goal_probability={info['goal_probability']:.3f} "
                  f"true_goal={info['true_goal']}")
            if terminated or truncated:
                log.info(f"episode ended: {'goal reached' if terminated else 'step limit'}")
                break
    finally:
        env.close()
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
    log.info(f"true-goal success {result.success_rate:.0%} over {plural(result.episodes, 'episode')}, "
          f"mean episode length {result.mean_length:.2f} (episodes end on the simulator's truth, the oracle)")
    if args.gif:
        log.info(f"wrote {args.gif}: {min(3, args.episodes)} episodes, goal probability from the {args.backend} reward")
    return 0


COMMANDS = {"demo": cmd_demo, "evaluate": cmd_evaluate}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register this module's commands."""
    p = add_command(subparsers, "demo", "run one short episode heading for the object, printing each step", run)
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="oracle", help=ENGINE_HELP)
    p.add_argument("--image-size", type=positive_int, default=IMAGE_SIZE, help="camera image size in pixels")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the episode's start")

    p = add_command(subparsers, "evaluate", "deterministic evaluation of a trained agent (true-goal success)", run,
                 "replace an existing --gif file")
    p.add_argument("--agent", required=True, type=Path, help="agent.zip written by train")
    p.add_argument("--episodes", type=positive_int, default=50, help="deterministic episodes")
    p.add_argument("--seed", type=seed_int, default=10_000, help="seed of the first episode (one more for each next)")
    p.add_argument("--gif", type=Path, default=None, help="write an animated GIF of the first 3 episodes")
    p.add_argument("--backend", choices=REWARD_BACKENDS, default="openvino",
                   help="classifier whose goal probability the GIF shows (episodes always end on the truth)")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command."""
    return COMMANDS[args.command](args)
