"""Processes for the kill and race tests of ``pytest_drlreward.util.atomic`` (imported by a forkserver, so each
child starts with its imports done): a directory writer, a reader and an ``export_classifier`` writer."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pytest_drlreward.util import atomic

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
    """One whole copy of ``target``: read through the very directory opened (``read_directory``, issue 28), so a
    writer swapping it meanwhile cannot mix two copies; before issue 28 read by path, again while it changed."""
    through_fd = getattr(atomic, "read_directory", None)
    if through_fd is not None:
        return through_fd(target, lambda fd: read_whole(f"/proc/self/fd/{fd}"))
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


def two_constant_classifiers(directory: str) -> dict[str, str]:
    """Two ONNX graphs taking uint8 (N, 2, 2, 3) that output constant logits: copy "A" says goal ([0, 1]), copy
    "B" not ([1, 0]); a reader that pairs one copy's metadata with the other's graph sees the wrong answer."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    paths = {}
    for name, bias in (("A", [0.0, 1.0]), ("B", [1.0, 0.0])):
        nodes = [helper.make_node("Cast", ["images"], ["f"], to=TensorProto.FLOAT),
                 helper.make_node("Flatten", ["f"], ["flat"], axis=1),
                 helper.make_node("MatMul", ["flat", "w"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["logits"])]
        graph = helper.make_graph(
            nodes, f"constant_{name}", [helper.make_tensor_value_info("images", TensorProto.UINT8, ["N", 2, 2, 3])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
            [numpy_helper.from_array(np.zeros((12, 2), np.float32), "w"),
             numpy_helper.from_array(np.array(bias, np.float32), "b")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        paths[name] = str(Path(directory) / f"constant_{name}.onnx")
        onnx.save(model, paths[name])
    return paths


def write_copy(target: str, paths: dict[str, str], name: str) -> None:
    """``write_classifier_dir`` of copy ``name`` into ``target`` (its metadata's info names the copy)."""
    from pytest_drlreward.classifier.writer import write_classifier_dir

    write_classifier_dir(paths[name], target, goal_index=1, info={"copy": name}, overwrite=True)


def classifier_writer_loop(target: str, paths: dict[str, str], seconds: float, results) -> None:
    """Write copies A and B in turn into ``target`` for ``seconds``; put the counts on ``results``."""
    results.put(("writer", 1, _count_writes(lambda generation: write_copy(target, paths, "AB"[generation % 2]), seconds)))


def classifier_reader_loop(target: str, seconds: float, results) -> None:
    """Open ``target`` and load it on ONNX Runtime again and again; a read whose graph answers for the other copy
    than its metadata names is ``mixed``."""
    import numpy as np

    from pytest_drlreward.backends import load_backend
    from pytest_drlreward.classifier import open_model_dir

    counts = {"read": 0, "mixed": 0, "failed": 0, "examples": []}
    images = np.zeros((1, 2, 2, 3), np.uint8)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            directory = open_model_dir(target)
            said_goal = bool(load_backend("onnxruntime", directory).predict_goal(images)[0])
        except (OSError, ValueError) as error:
            counts["failed"] += 1
            counts["examples"] = (counts["examples"] + [repr(error)])[:3]
            continue
        counts["read"] += 1
        counts["mixed"] += said_goal != (directory.metadata["info"]["copy"] == "A")
    results.put(("reader", 0, counts))
