"""Export that proves it loads (issue 27, item 8): the graph is compiled and run on every installed engine
before a directory is written, and a float input needs its range declared.

Reported: LeRobot 0.4.4's ``Classifier.predict`` joins its cameras with ``torch.hstack`` of a Python list;
the export succeeded and OpenVINO failed at suite time (``No conversion rule found for operations:
SequenceMap-20, util::SequenceAt``).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from pytest_drlreward.classifier.loadcheck import (
    GraphLoadError,
    fix_for,
    prove_graph_loads,
    unsupported_operators,
)

VIEWS = ("front", "wrist")
RANGES = {"front": (0.0, 1.0), "wrist": (0.0, 1.0)}
OPENVINO_MESSAGE = ("Exception from src/inference/src/cpp/core.cpp:84:\nCheck 'false' failed at src/frontends/x.cpp:151:\n"
                    "FrontEnd API failed with OpConversionFailure:\nModel wasn't fully converted.\nSummary:\n"
                    "-- No conversion rule found for operations: SequenceMap-20, util::SequenceAt, util::SequenceMark\n")
ORT_MESSAGE = ("[ONNXRuntimeError] : 1 : FAIL : Load model from foo.onnx failed:Fatal error: com.example:Foo(-1) is not "
               "a registered function/op")


def _views(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.random((n, 3, 4, 4), dtype=np.float32) for name in VIEWS}


def _lerobot_like(join: str):
    """Two cameras encoded apart, joined as LeRobot 0.4.4's ``predict`` does: a Python list through ``join``."""
    torch = pytest.importorskip("torch")
    from torch import nn

    joins = {"hstack": torch.hstack, "vstack": lambda xs: torch.vstack(xs).reshape(2, -1, 4).permute(1, 0, 2).flatten(1),
             "column_stack": torch.column_stack}

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoders = nn.ModuleDict({name: nn.Linear(48, 4) for name in VIEWS})
            self.head = nn.Linear(8, 1)

        def forward(self, front, wrist):
            encoded = [self.encoders[name](x.flatten(1)) for name, x in zip(VIEWS, (front, wrist))]
            return self.head(joins[join](encoded))[:, 0]

    torch.manual_seed(0)
    return Classifier().eval()


def _sequence_onnx(path, model) -> None:
    """The model exported by ``torch.onnx`` as a user would, list join and all (Sequence operators)."""
    import torch

    tensors = {name: torch.from_numpy(array) for name, array in _views(2).items()}
    dim = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings():  # both inputs share the batch axis, on purpose
        warnings.filterwarnings("ignore", message=".*The axis name: batch will not be used")
        torch.onnx.export(model, (), str(path), kwargs=tensors, input_names=list(VIEWS), output_names=["logits"],
                          dynamic_shapes={name: {0: dim} for name in VIEWS}, dynamo=True, external_data=False)


@pytest.mark.parametrize("join", ["hstack", "vstack", "column_stack"])
def test_a_list_joined_with_hstack_exports_a_graph_every_engine_runs(tmp_path, join):
    onnx = pytest.importorskip("onnx")
    from pytest_drlreward import export_classifier, load_backend

    model = _lerobot_like(join)
    directory = export_classifier(model, _views(2), tmp_path / "c", threshold=0.7, input_ranges=RANGES)
    ops = {node.op_type for node in onnx.load(str(directory.onnx_path)).graph.node}
    assert not {op for op in ops if op.startswith(("Sequence", "ConcatFromSequence"))}, ops
    views = _views(5, seed=1)  # another batch size than traced
    import torch

    with torch.inference_mode():
        expected = model(**{k: torch.from_numpy(v) for k, v in views.items()}).numpy()
    for name in ("onnxruntime", "openvino"):
        pytest.importorskip(name)
        np.testing.assert_allclose(load_backend(name, directory).logits(views), expected, atol=1e-5)


def test_export_refuses_a_graph_an_engine_cannot_load_naming_the_operators_and_the_fix(tmp_path, monkeypatch):
    """Without the decomposition the export holds SequenceMap: OpenVINO refuses it and nothing is written."""
    pytest.importorskip("openvino")
    from pytest_drlreward import export_classifier
    from pytest_drlreward.classifier import export

    monkeypatch.setattr(export, "_list_joins_decomposed", lambda torch, model, *rest: model)
    with pytest.raises(GraphLoadError) as caught:
        export_classifier(_lerobot_like("hstack"), _views(2), tmp_path / "c", threshold=0.7, input_ranges=RANGES)
    message = str(caught.value)
    assert caught.value.engine == "openvino" and "SequenceMap-20" in caught.value.operators
    assert "OpenVINO cannot load the ONNX export of the model: it has no implementation for SequenceMap-20" in message
    assert "torch.cat((a, b), dim=1) on tensors, not a Python list" in message and "Nothing was written" in message
    assert not (tmp_path / "c").exists() and list(tmp_path.iterdir()) == []


def test_write_classifier_dir_refuses_an_onnx_file_openvino_cannot_load(tmp_path):
    pytest.importorskip("openvino")
    from pytest_drlreward import write_classifier_dir

    source = tmp_path / "lerobot.onnx"
    _sequence_onnx(source, _lerobot_like("hstack"))
    with pytest.raises(GraphLoadError, match=r"OpenVINO cannot load .*lerobot.onnx: it has no implementation for "
                                             r"SequenceMap-20.*torch.cat\(\(a, b\), dim=1\)"):
        write_classifier_dir(source, tmp_path / "out", threshold=0.7, input_ranges=RANGES)
    assert not (tmp_path / "out").exists()


def _custom_op_onnx(path) -> None:
    from onnx import TensorProto, helper, save

    node = helper.make_node("Foo", ["images"], ["logits"], domain="com.example")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("images", TensorProto.UINT8, ["N", 8, 8, 3])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.example", 1)],
                           ir_version=9), str(path))


def test_an_operator_onnx_runtime_lacks_is_named_without_a_fix(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from pytest_drlreward import write_classifier_dir

    source = tmp_path / "custom.onnx"
    _custom_op_onnx(source)
    with pytest.raises(GraphLoadError) as caught:
        write_classifier_dir(source, tmp_path / "out")
    assert caught.value.engine == "onnxruntime" and caught.value.operators == ("com.example:Foo(-1)",)
    assert "ONNX Runtime cannot load" in str(caught.value) and "Fix:" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_an_output_without_the_batch_axis_is_refused(tmp_path):
    """The graph declares (N, 2) but sums the batch away: an engine run on 3 rows shows it."""
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, save

    graph = helper.make_graph([helper.make_node("ReduceSum", ["x"], ["y"], keepdims=1)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(tmp_path / "g.onnx"))
    with pytest.raises(GraphLoadError, match=r"on a batch of 3 and got an output of shape \(1, 1\).*dynamic batch axis"):
        prove_graph_loads(tmp_path / "g.onnx")


def test_engines_not_installed_are_skipped_and_said(tmp_path, monkeypatch, caplog):
    pytest.importorskip("onnxruntime")
    from pytest_drlreward.classifier import loadcheck

    source = tmp_path / "relu.onnx"
    from onnx import TensorProto, helper, save

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(source))
    real = loadcheck.importlib.util.find_spec
    monkeypatch.setattr(loadcheck.importlib.util, "find_spec", lambda name: None if name == "openvino" else real(name))
    with caplog.at_level(logging.INFO, logger=loadcheck.__name__):
        proof = prove_graph_loads(source)
    assert proof.compiled == ("onnxruntime",) and proof.not_installed == ("openvino",)
    assert "compiled and ran on onnxruntime (openvino not installed)" in caplog.text
    monkeypatch.setattr(loadcheck.importlib.util, "find_spec", lambda name: None)
    with caplog.at_level(logging.INFO, logger=loadcheck.__name__):
        assert prove_graph_loads(source).compiled == ()
    assert "not compiled on any engine (onnxruntime and openvino not installed): nothing proves it loads" in caplog.text


def test_operators_are_read_from_each_engines_message():
    assert unsupported_operators(OPENVINO_MESSAGE) == ["SequenceMap-20", "util::SequenceAt", "util::SequenceMark"]
    assert unsupported_operators(ORT_MESSAGE) == ["com.example:Foo(-1)"]
    assert unsupported_operators("Could not find an implementation for SequenceMap(17) node with name ''") == [
        "SequenceMap(17)"]
    assert unsupported_operators("some other failure") == []
    assert "torch.cat" in fix_for(["SequenceMap-20"]) and fix_for(["com.example:Foo(-1)"]) is None


# -- a float input needs its range -------------------------------------------------------------------------
def test_write_classifier_dir_refuses_a_float_input_without_a_declared_range(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("torch")
    from pytest_drlreward import export_classifier, write_classifier_dir

    exported = export_classifier(_lerobot_like("hstack"), _views(2), tmp_path / "c", threshold=0.7,
                                 input_ranges={"front": (0.0, 255.0), "wrist": (-1.0, 1.0)})
    assert [spec.range for spec in exported.inputs] == [(0.0, 255.0), (-1.0, 1.0)]
    with pytest.raises(ValueError, match=r"inputs 'front', 'wrist' are float32: declare the range their values take, "
                                         r"e.g. input_ranges=\{'front': \(0.0, 255.0\), 'wrist': \(0.0, 255.0\)\}"):
        write_classifier_dir(exported.onnx_path, tmp_path / "w", threshold=0.7)
    with pytest.raises(ValueError, match=r"input 'wrist' is float32: .*input_ranges="):
        write_classifier_dir(exported.onnx_path, tmp_path / "w", threshold=0.7, input_ranges={"front": (0, 1)})
    assert not (tmp_path / "w").exists()
    written = write_classifier_dir(exported.onnx_path, tmp_path / "w", threshold=0.7,
                                   input_ranges={"front": (0, 255), "wrist": (0, 255)})
    assert written.metadata["inputs"][0]["range"] == [0.0, 255.0]


def test_export_classifier_refuses_a_float_input_without_a_declared_range_and_uint8_keeps_its_default(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    from pytest_drlreward import export_classifier

    with pytest.raises(ValueError, match=r"input 'images' is float32: .*e.g. input_ranges=\(0.0, 255.0\) for raw pixels"):
        export_classifier(nn.Flatten().eval(), np.zeros((2, 3, 2, 2), np.float32), tmp_path / "f", decision="argmax",
                          classes=[str(i) for i in range(12)])
    assert not (tmp_path / "f").exists()

    class Mean(nn.Module):
        def forward(self, images):
            return torch.stack([images.float().mean((1, 2, 3)), -images.float().mean((1, 2, 3))], 1)

    written = export_classifier(Mean().eval(), np.zeros((2, 4, 4, 3), np.uint8), tmp_path / "u")
    assert written.inputs[0].range == (0.0, 255.0)


def test_random_parity_inputs_are_drawn_from_the_declared_range(tmp_path):
    """Parity's random inputs (``input_batches``) reach raw-pixel values of a float input declared [0, 255]."""
    from hypothesis import find, settings

    from pytest_drlreward.classifier.metadata import InputSpec
    from pytest_drlreward.strategies import input_batches

    specs = [InputSpec("front", (None, 3, 4, 4), "float32", "NCHW", "front", (0.0, 255.0)),
             InputSpec("wrist", (None, 3, 4, 4), "float32", "NCHW", "wrist", (-1.0, 1.0))]
    bright = find(input_batches(specs, 1, 2), lambda batch: batch["front"].max() > 200.0, settings=settings(database=None))
    assert bright["front"].max() <= 255.0 and bright["wrist"].min() >= -1.0 and bright["wrist"].max() <= 1.0
    negative = find(input_batches(specs, 1, 2), lambda batch: batch["wrist"].min() < -0.5,
                    settings=settings(database=None))
    assert negative["wrist"].min() >= -1.0
