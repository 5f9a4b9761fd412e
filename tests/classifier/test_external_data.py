"""Issue 20 case 4: ONNX external data is listed and hash-checked, or the directory is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from repo_paths import TINY_MODEL

from pytest_drlreward.backends import load_backend
from pytest_drlreward.classifier import METADATA_FILE, ONNX_FILE, ModelDirError, open_model_dir, sha256_of

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
TINY = TINY_MODEL


def _external(tmp_path: Path, location: str = "weights.bin", listed: bool = True) -> Path:
    """The tiny classifier with its weights moved to an external-data file ``location`` (relative to the ONNX file)."""
    model = Path(shutil.copytree(TINY, tmp_path / "model"))
    graph = onnx.load(str(model / ONNX_FILE))
    onnx.save_model(graph, str(model / ONNX_FILE), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=256)
    meta_path = model / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    metadata["files"][ONNX_FILE] = sha256_of(model / ONNX_FILE)
    if listed:
        metadata["files"][location] = sha256_of(model / location)
    meta_path.write_text(json.dumps(metadata, indent=2))
    return model


def _images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)


def test_listed_external_data_loads_and_gives_the_same_logits(tmp_path):
    model = _external(tmp_path)
    expected = load_backend("onnxruntime", TINY).logits(_images())
    np.testing.assert_allclose(load_backend("onnxruntime", model).logits(_images()), expected, atol=1e-6)


def test_unlisted_external_data_is_refused_by_name(tmp_path):
    model = _external(tmp_path, listed=False)
    with pytest.raises(ModelDirError, match=r"not listed.*weights\.bin"):
        load_backend("onnxruntime", model)


def test_tampered_external_data_is_caught_by_its_hash(tmp_path):
    model = _external(tmp_path)
    weights = model / "weights.bin"
    data = np.frombuffer(weights.read_bytes(), np.float32).copy()
    data[: len(data) // 2] *= 1.5
    weights.write_bytes(data.tobytes())
    with pytest.raises(ModelDirError, match=r"weights\.bin does not match the sha256"):
        open_model_dir(model)


def test_external_data_outside_the_directory_is_refused(tmp_path):
    model = _external(tmp_path, listed=False)
    (model / "weights.bin").rename(tmp_path / "outside.bin")
    graph = onnx.load(str(model / ONNX_FILE), load_external_data=False)
    for tensor in graph.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../outside.bin"
    onnx.save_model(graph, str(model / ONNX_FILE))
    meta_path = model / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    metadata["files"][ONNX_FILE] = sha256_of(model / ONNX_FILE)
    meta_path.write_text(json.dumps(metadata, indent=2))
    with pytest.raises(ModelDirError, match=r"external data from '\.\./outside\.bin'"):
        open_model_dir(model)
