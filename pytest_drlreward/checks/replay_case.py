"""A failing input a check attaches to its error (``error.replay``): :class:`ReplayCase`, cut by :func:`case_of`
and written by :func:`save_case`. Core: the checks import it; ``pytest_drlreward.replay`` (the command that
replays a case) reads it back. No pytest here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

META_KEY = "__replay__"  # the npz entry holding the case's JSON
LABELS_KEY = "__labels__"
SINGLE_KEY = "__batch__"  # the npz entry of a one-array batch (named inputs keep their names)
CHECKS = ("parity", "decisions", "labelled", "false goals")


@dataclass(frozen=True)
class ReplayCase:
    """A failing input: ``check`` (one of :data:`CHECKS`), ``inputs`` (one array or named arrays, N rows),
    ``settings`` (JSON: backend names, tolerances, ``first_row`` = the run's number of row 0, row labels),
    ``labels`` (labelled checks) and ``trail`` (JSON: seeds and actions that reach the rows, where known)."""

    check: str
    inputs: Any
    settings: dict = field(default_factory=dict)
    labels: np.ndarray | None = None
    trail: dict | None = None


def case_of(check: str, inputs: Any, row: int, batch_size: int | None, settings: dict, labels: Any = None,
            trail: dict | None = None) -> ReplayCase:
    """The case of ``row``: the batch of ``batch_size`` rows holding it (all rows when ``batch_size`` is None)."""
    from pytest_drlreward.checks._inputs import batch_len, take

    n = batch_len(inputs)
    size = int(batch_size) if batch_size else max(n, 1)
    start = (int(row) // size) * size
    rows = slice(start, min(start + size, n))
    return ReplayCase(check, take(inputs, rows), {**settings, "first_row": start, "rows_in_run": n,
                                                  "batch_size": batch_size},
                      None if labels is None else np.asarray(labels)[rows], trail)


def save_case(case: ReplayCase, path: str | Path) -> Path:
    """Write ``case`` to ``path`` (``.npz``: every input by name, the settings) and, when it has a trail,
    the same settings with seeds and actions beside it as ``.json``; each file written whole or not at all."""
    from pytest_drlreward.util.atomic import atomic_file, write_text_atomic

    path = Path(path).with_suffix(".npz")
    meta = {"check": case.check, "settings": case.settings, "single": not isinstance(case.inputs, dict)}
    arrays = {SINGLE_KEY: case.inputs} if meta["single"] else dict(case.inputs)
    if case.labels is not None:
        arrays[LABELS_KEY] = case.labels
    arrays[META_KEY] = np.array(json.dumps(meta))
    with atomic_file(path) as tmp, open(tmp, "wb") as stream:
        np.savez_compressed(stream, **arrays)
    if case.trail is not None:
        write_text_atomic(path.with_suffix(".json"), json.dumps({**meta, **case.trail}, indent=2, default=str) + "\n")
    return path
