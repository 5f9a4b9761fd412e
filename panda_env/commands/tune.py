"""``tune``: search SAC's settings for the fast profile (Optuna), recheck and confirm them, write the report.

``python -m panda_env tune ...`` (also ``python -m panda_env.bench.tune ...``). Needs the ``tune`` extra.
The rows file always has one schema: ``meta``, ``rows``, ``rechecked``, ``confirmation``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from panda_env.commands.common import UserError, add_command, log
from pytest_drlreward.util.atomic import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The search's options (the subcommand's and ``python -m panda_env.bench.tune``'s)."""
    parser.add_argument("--trials", type=int, default=40, help="trials of the search (0: load --rows instead)")
    parser.add_argument("--timeout", type=float, default=None, help="start no trial after this many seconds")
    parser.add_argument("--search-seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds a trial trains on")
    parser.add_argument("--cap", type=int, default=6000, help="step cap of a training run")
    parser.add_argument("--every", type=int, default=250, help="check the policy every this many steps")
    parser.add_argument("--episodes", type=int, default=20, help="episodes of a check")
    parser.add_argument("--sampler-seed", type=int, default=0, help="seed of Optuna's TPE sampler")
    parser.add_argument("--top", type=int, default=10, help="trials in the table")
    parser.add_argument("--rows", type=Path, default=None,
                        help="JSON of the search's rows: written after a search, read when --trials 0")
    parser.add_argument("--recheck", type=int, default=0, help="re-run the best N of the search on --recheck-seeds")
    parser.add_argument("--recheck-seeds", type=int, nargs="+", default=[3, 4, 5, 6, 7, 8],
                        help="seeds of the recheck")
    parser.add_argument("--confirm", type=int, default=0, help="confirm the best N settings against the current ones")
    parser.add_argument("--backend", default="openvino", help="reward of the confirmation")
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12], help="seeds of the confirmation")
    parser.add_argument("--out", type=Path, required=True, help="Markdown report")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local: seeds one after another here (pruned early); ray: a trial's seeds as Ray tasks")
    parser.add_argument("--address", default=None, help="Ray cluster address (with --executor ray; None: local Ray)")
    parser.add_argument("--cpus-per-task", type=float, default=1.0, help="CPUs each Ray task reserves")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``tune``."""
    parser = add_command(subparsers, "tune", "search SAC's settings for the fastest solve (Optuna; the tune extra), "
                                             "recheck and confirm them, write the Markdown report", run)
    add_arguments(parser)


def _write_rows(path: Path, meta: dict[str, Any], rows: list, rechecked: list = (), confirmation: list = ()) -> None:
    write_text_atomic(path, json.dumps({"meta": meta, "rows": [r.to_dict() for r in rows],
                                        "rechecked": [r.to_dict() for r in rechecked],
                                        "confirmation": [r.to_dict() for r in confirmation]}, indent=1))


def run(args: argparse.Namespace) -> int:
    """Search (or load a search), optionally recheck and confirm the best settings; write the Markdown report."""
    from panda_env.bench import tune_report
    from panda_env.bench import tune_search as tune

    if not getattr(args, "command_line", None):
        args.command_line = "python -m panda_env tune"
    command = args.command_line
    meta: dict[str, Any] = {"backend": "oracle", "seeds": args.search_seeds, "cap": args.cap, "every": args.every,
                            "episodes": args.episodes, "sampler_seed": args.sampler_seed, "command": command}
    if args.trials > 0:
        start, seen = time.perf_counter(), []

        def save(row: tune.TrialRow | None = None) -> None:  # after every trial, so an interrupted search keeps its rows
            if row is not None:
                seen.append(row)
            meta.update(trials=len(seen), search_s=time.perf_counter() - start)
            if args.rows is not None:
                _write_rows(args.rows, meta, tune.ranked(seen))

        rows = tune.search(args.trials, args.search_seeds, "oracle", args.cap, args.every, args.episodes,
                      args.sampler_seed, args.timeout, on_trial=save, executor=args.executor, address=args.address,
                      cpus_per_task=args.cpus_per_task)
        seen[:] = rows
        save()
    elif args.rows is not None:
        data = json.loads(args.rows.read_text())
        meta, rows = data["meta"], [tune.TrialRow.from_dict(r) for r in data["rows"]]
        rechecked = [tune.TrialRow.from_dict(r) for r in data.get("rechecked", [])]
        saved_confirmation = [tune.TrialRow.from_dict(r) for r in data.get("confirmation", [])]
        command = meta["command"] = meta.get("command", "") + "\n" + command
    else:
        raise UserError("give --trials N or --rows FILE")
    if args.trials > 0:
        rechecked, saved_confirmation = [], []
    if args.recheck:
        rechecked = tune.recheck(rows, args.recheck, args.recheck_seeds, "oracle", args.cap, args.every, args.episodes)
        meta["recheck_seeds"] = args.recheck_seeds
    confirmation, confirm_meta = saved_confirmation, meta.get("confirm")
    if args.confirm:
        candidates = {row.name: row.params for row in (rechecked or rows) if row.name != tune.CURRENT and row.solved_all
                      and row.state == "complete"}
        candidates = dict(list(candidates.items())[:args.confirm])
        confirmation = tune.confirm(candidates, args.seeds, args.backend, args.cap, args.every, args.episodes)
        confirm_meta = meta["confirm"] = {"backend": args.backend, "seeds": args.seeds, "eval_episodes": 50}
    if args.rows is not None and (args.recheck or args.confirm or args.trials == 0):
        _write_rows(args.rows, meta, rows, rechecked, confirmation)
    text = tune_report.render_markdown(rows, command, meta, args.top, confirmation, confirm_meta, rechecked)
    write_text_atomic(args.out, text)
    log.info(text.rstrip("\n"))
    return 0


