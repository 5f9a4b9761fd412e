"""Model directories: only what is listed and verified is loaded; bad metadata is one error naming the problem.

Split from the former test_reliability.py; each test fails without the fix it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from panda_env.cli import main
from panda_env.reward import load_backend
from pytest_drlreward.classifier import METADATA_FILE, ModelDirError, open_model_dir


def _edit_metadata(model: Path, edit) -> None:
    metadata = json.loads((model / METADATA_FILE).read_text())
    metadata = edit(metadata)
    (model / METADATA_FILE).write_text(json.dumps(metadata))


def test_openvino_never_compiles_an_unlisted_file(model_copy):
    backend = load_backend("openvino", model_copy)
    assert backend.source == model_copy / "classifier.onnx"
    images = np.random.default_rng(0).integers(0, 256, (4, *backend.image_shape), dtype=np.uint8)
    np.testing.assert_allclose(backend.logits(images), load_backend("torch", model_copy).logits(images), atol=1e-4)
    (model_copy / "classifier.xml").write_text("<net>not the verified classifier</net>")
    with pytest.raises(ModelDirError, match=r"not listed .*classifier\.xml"):  # issue 20: refused outright
        load_backend("openvino", model_copy)


def _format_1(metadata: dict, goal_index: int = 1) -> dict:
    """The shipped (format 2) metadata written as format 1."""
    return {"format_version": 1, "input": metadata["inputs"][0], "classes": metadata["classes"], "goal_index": goal_index,
            "torch_factory": metadata["torch_factory"], "files": metadata["files"]}


METADATA_FAULTS = {
    "no-files": (lambda m: {k: v for k, v in m.items() if k != "files"}, "lacks \\['files'\\]"),
    "files-without-onnx": (lambda m: {**m, "files": {"classifier.pt": m["files"]["classifier.pt"]}},
                           "does not list \\['classifier.onnx'\\]"),
    "goal-index-5": (lambda m: {**m, "decision": {"kind": "argmax", "goal_index": 5}},
                     "decision.goal_index 5 is not a column of the output"),
    "goal-index-bool": (lambda m: {**m, "decision": {"kind": "argmax", "goal_index": True}},
                        "decision.goal_index True is not a column"),
    "a-list": (lambda m: [m], "must hold a JSON object, got a list"),
    "no-inputs": (lambda m: {k: v for k, v in m.items() if k != "inputs"}, "lacks \\['inputs'\\]"),
    "no-decision": (lambda m: {k: v for k, v in m.items() if k != "decision"}, "lacks \\['decision'\\]"),
    "bad-torch-factory": (lambda m: {**m, "torch_factory": "no_colon"}, "torch_factory must be 'package.module:function'"),
    "bad-shape": (lambda m: {**m, "inputs": [{**m["inputs"][0], "shape": [None, 48, 0, 3]}]}, "inputs\\[0\\].shape must be"),
    "format-1-goal-index-5": (lambda m: _format_1(m, goal_index=5), "decision.goal_index 5 is not a column"),
    "format-1-no-torch-factory": (lambda m: {k: v for k, v in _format_1(m).items() if k != "torch_factory"},
                                  "lacks \\['torch_factory'\\]"),
    "escaping-file": (lambda m: {**m, "files": {**m["files"], "../x": "0"}}, "must be relative"),
}


@pytest.mark.parametrize("fault", sorted(METADATA_FAULTS))
def test_bad_metadata_is_a_model_dir_error_naming_the_problem(model_copy, fault, capsys):
    edit, message = METADATA_FAULTS[fault]
    _edit_metadata(model_copy, edit)
    with pytest.raises(ModelDirError, match=message):
        open_model_dir(model_copy)
    assert main(["evaluate-classifier", "--data", str(model_copy), "--model", str(model_copy)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
