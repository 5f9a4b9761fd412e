"""Deliberate edits of a classifier directory copy in tests: re-hashing after an edit, and another weight."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pytest_drlreward.classifier import METADATA_FILE, ONNX_FILE, sha256_of


def rehash(model_dir: Path, *names: str) -> None:
    """Write the current sha256 of ``names`` into ``model_dir``'s metadata (after a deliberate edit)."""
    meta_path = Path(model_dir) / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    for name in names:
        metadata["files"][name] = sha256_of(Path(model_dir) / name)
    meta_path.write_text(json.dumps(metadata, indent=2))


def scale_largest_onnx_weight(model_dir: Path, factor: float = 1.01) -> None:
    """Change ``model_dir``'s ONNX graph: its largest weight tensor times ``factor``; metadata re-hashed."""
    import onnx
    from onnx import numpy_helper

    path = Path(model_dir) / ONNX_FILE
    graph = onnx.load(str(path))
    weight = max(graph.graph.initializer, key=lambda t: np.prod(t.dims))
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * np.float32(factor), weight.name))
    onnx.save(graph, str(path))
    rehash(model_dir, ONNX_FILE)
