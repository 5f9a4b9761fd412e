"""Processes for the kill and race tests of ``pytest_drlreward.atomic`` (imported by a forkserver, so each
child starts with its imports done): a directory writer, a reader and an ``export_classifier`` writer."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pytest_drlreward import atomic

FILES = 150  # enough files that removing a directory takes a while (kills land inside it)


def write_generation(target: str, writer: int, generation: int) -> None:
    """Write ``target`` as FILES files all holding "writer:generation", then a manifest."""
    with atomic.atomic_directory(Path(target), overwrite=True) as tmp:
        stamp = f"{writer}:{generation}"
        for i in range(FILES):
            (tmp / f"part{i:03d}.txt").write_text(stamp)
        (tmp / "manifest.json").write_text(json.dumps({"stamp": stamp, "files": FILES}))


def read_whole(target: str) -> str:
    """The stamp of a complete, consistent copy of ``target``; ValueError / OSError otherwise."""
    path = Path(target)
    manifest = json.loads((path / "manifest.json").read_text())
    for i in range(manifest["files"]):
        if (path / f"part{i:03d}.txt").read_text() != manifest["stamp"]:
            raise ValueError(f"part{i:03d}.txt belongs to another copy than the manifest ({manifest['stamp']})")
    return manifest["stamp"]


def read_stable(target: str) -> str:
    stable = getattr(atomic, "read_stable", None)  # absent before issue 20: read once
    return stable(target, lambda: read_whole(target)) if stable else read_whole(target)


def _count_writes(write, seconds: float, pause_after_refusal: float = 0.0) -> dict:
    """Call ``write(generation)`` for ``seconds``; count successes, clear refusals and raw OSErrors."""
    counts = {"written": 0, "refused": 0, "raw": 0, "raw_examples": []}
    refused = getattr(atomic, "ConcurrentWriteError", ())  # absent before issue 20
    end, generation = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        generation += 1
        try:
            write(generation)
            counts["written"] += 1
        except refused:
            counts["refused"] += 1
            time.sleep(pause_after_refusal)
        except OSError as error:
            counts["raw"] += 1
            counts["raw_examples"] = (counts["raw_examples"] + [repr(error)])[:3]
    return counts


def _count_reads(read, seconds: float) -> dict:
    """Call ``read()`` for ``seconds``; count whole reads and failed (missing, partial, mixed) ones."""
    counts = {"read": 0, "failed": 0, "examples": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            read()
            counts["read"] += 1
        except (OSError, ValueError) as error:
            counts["failed"] += 1
            counts["examples"] = (counts["examples"] + [repr(error)])[:3]
    return counts


def writer_loop(target: str, writer: int, seconds: float, results) -> None:
    """Write ``target`` again and again; put the counts of :func:`_count_writes` on ``results``."""
    results.put(("writer", writer, _count_writes(lambda generation: write_generation(target, writer, generation), seconds)))


def reader_loop(target: str, seconds: float, results) -> None:
    """Read ``target`` again and again; put the counts of :func:`_count_reads` on ``results``."""
    results.put(("reader", 0, _count_reads(lambda: read_stable(target), seconds)))


def export_tiny(target: str, seed: int) -> None:
    """Export the downstream project's tiny classifier (weights from ``seed``) into ``target``, overwriting."""
    import numpy as np
    import torch
    from tiny_model import TinyCNN

    from pytest_drlreward import export_classifier

    torch.manual_seed(seed)
    model = TinyCNN()
    images = np.random.default_rng(seed).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    export_classifier(model, images, target, torch_factory="tiny_model:build", overwrite=True)
    os._exit(0)


def export_loop(target: str, writer: int, seconds: float, results) -> None:
    """``export_classifier`` into ``target`` again and again (new weights each time); put the counts on ``results``."""
    import numpy as np
    import torch
    from tiny_model import TinyCNN

    from pytest_drlreward import export_classifier

    images = np.zeros((2, 16, 16, 3), np.uint8)

    def export(generation: int) -> None:
        torch.manual_seed(1000 * writer + generation)
        export_classifier(TinyCNN(), images, target, torch_factory="tiny_model:build", overwrite=True)

    results.put(("writer", writer, _count_writes(export, seconds, pause_after_refusal=0.05)))


def open_loop(target: str, seconds: float, results) -> None:
    """``open_model_dir(target)`` again and again; put the counts of :func:`_count_reads` on ``results``."""
    from pytest_drlreward.classifier import open_model_dir

    results.put(("reader", 0, _count_reads(lambda: open_model_dir(target), seconds)))


def write_when_told(target: str, writer: int, generation: int, started) -> None:
    """``write_generation``, setting the event ``started`` first (so a kill is timed from the write's start)."""
    started.set()
    write_generation(target, writer, generation)
