"""Command line: ``python -m panda_env <command>`` (console script ``panda-env``).

This module only wires the commands: each group lives in ``panda_env.commands`` (``classifier``,
``train``, ``evaluate``, ``bench``, ``experiments``, ``tune``) with ``add_parser(subparsers)`` and
``run(args)``. User mistakes (bad values, missing files) end with a one-line error and exit status 2,
no traceback.
"""

from __future__ import annotations

import argparse
import sys

from panda_env.commands import bench, classifier, evaluate, experiments, train, tune
from panda_env.commands.common import HelpFormatter, Interrupted, UserError, show_output, split_int8

GROUPS = (evaluate, classifier, bench, train, experiments, tune)  # the order of `--help`'s list


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(prog="panda_env", description=__doc__.splitlines()[0].replace("``", ""),
                                     formatter_class=HelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log debug messages, and stable-baselines3's own log while training")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    split_int8(args)  # --backend openvino-int8 is --backend openvino --int8
    show_output(args.verbose)
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
    except Interrupted as stop:
        print(f"panda_env {args.command}: {stop}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"panda_env {args.command}: interrupted; every file it writes is written whole or not at all, "
              f"so nothing half-written was left", file=sys.stderr)
        return 130
