"""What the commands of ``python -m panda_env`` share: argparse types, the help formatter, the user error,
output checks, the benchmark start, the shared help texts and argument groups, and the table printer.

Each command module (``classifier``, ``train``, ``evaluate``, ``bench``, ``experiments``, ``tune``) has
``add_parser(subparsers)`` and ``run(args)``; ``panda_env.cli`` only wires them.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from panda_env.envs.task import INT8_BACKEND
from pytest_drlreward.util.atomic import write_text_atomic

log = logging.getLogger("panda_env.cli")  # the commands' output: show_output() puts it on stdout


class StdoutHandler(logging.StreamHandler):
    """Writes each record to whatever ``sys.stdout`` is at that moment (main() may run many times)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


def show_output(verbose: bool = False) -> None:
    """Show the commands' output and the package's own log lines (per-epoch training progress, ...) on stdout,
    message only, not those of every library we use; debug lines with ``verbose``. Idempotent."""
    package_logger = logging.getLogger("panda_env")
    if not any(isinstance(h, StdoutHandler) for h in package_logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG if verbose else logging.INFO)


class Interrupted(Exception):
    """A command stopped by Ctrl-C after keeping what it could; the message says what was kept (exit 130)."""


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


def start_benchmark(*outputs: Path | None) -> None:
    """Check a benchmark's output files before the work (their directory is made), then print the machine."""
    from panda_env.bench.machine import describe_machine

    for path in outputs:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            writable_file(path)
    log.info(describe_machine())


def writable_file(path: Path) -> Path:
    """Raise UserError unless ``path`` can be written (its directory exists and takes a new file)."""
    from pytest_drlreward.util.atomic import check_writable

    if path.is_dir():
        raise UserError(f"{path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: directory {path.parent} does not exist")
    check_writable(path.parent)
    return path


def plural(count: int, noun: str) -> str:
    """``1 episode``, ``3 episodes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def add_command(subparsers: argparse._SubParsersAction, name: str, help_text: str, func,
                overwrite: str | None = None) -> argparse.ArgumentParser:
    """A sub-command; ``overwrite``: the help of its ``--overwrite`` flag, if it writes an output that exists."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text,
                            formatter_class=HelpFormatter)
    parser.set_defaults(func=func)
    if overwrite is not None:
        parser.add_argument("--overwrite", action="store_true", help=overwrite)
    return parser


ENGINE_HELP = "what decides the reward: the simulator's truth (oracle) or the classifier on an engine"
BACKEND_HELP = (f"{ENGINE_HELP} (openvino-int8: the classifier's INT8 model on OpenVINO, the plugin's name for it)")
INT8_HELP = "the old spelling of --backend openvino-int8 (the classifier's shipped INT8 OpenVINO model, fast profile only)"


def reward_choices(backends: Sequence[str]) -> tuple[str, ...]:
    """The ``--backend`` choices: the env's reward backends and the registry's ``openvino-int8``."""
    return (*backends, INT8_BACKEND)


def split_int8(args: argparse.Namespace) -> None:
    """``--backend openvino-int8`` is ``--backend openvino --int8``: what the training and benchmark code take."""
    if getattr(args, "backend", None) == INT8_BACKEND:
        args.backend, args.int8 = "openvino", True
MODEL_HELP = "classifier directory; None: the one shipped in panda_env"
REPLACE_OUTPUT = "replace an existing output directory"
MARKDOWN_HELP = "print the table as Markdown (for the README)"
JSON_HELP = "also write the results as JSON to this file"


def add_table_outputs(parser: argparse.ArgumentParser, json_default: Path | None = None,
                      json_help: str = JSON_HELP) -> None:
    """``--markdown`` and ``--json``: how a benchmark's table is printed and where its results are saved."""
    parser.add_argument("--markdown", action="store_true", help=MARKDOWN_HELP)
    parser.add_argument("--json", type=Path, default=json_default, help=json_help)


def add_executor(parser: argparse.ArgumentParser, local_help: str) -> None:
    """``--executor``, ``--address``, ``--cpus-per-task``: where independent trainings run."""
    parser.add_argument("--executor", choices=("local", "ray"), default="local", help=local_help)
    parser.add_argument("--address", default=None, help="Ray cluster address (with --executor ray; None: start a local Ray)")
    parser.add_argument("--cpus-per-task", type=float, default=1.0, help="CPUs each Ray task reserves")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool) -> None:
    """Print a command's table, plain or Markdown (``--markdown``)."""
    from panda_env.bench.tables import render

    log.info("\n".join(render(list(headers), [list(row) for row in rows], markdown)))


def save_json(path: Path | None, result: Any) -> None:
    """With ``--json PATH``: write ``result`` there (atomically) and say so."""
    if path is not None:
        write_text_atomic(path, json.dumps(result, indent=2) + "\n")
        log.info(f"wrote {path}")
