"""The optional INT8 OpenVINO classifier (NNCF post-training quantisation): decisions, provenance, failures."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from model_edits import scale_largest_onnx_weight
from repo_paths import LABELLED_IMAGES, TINY_MODEL

from panda_env.bench.backends import INT8_ROW, backend_latency_table
from panda_env.cli import main
from panda_env.reward import (
    BackendUnavailableError,
    ModelDirError,
    load_backend,
    open_model_dir,
)
from panda_env.reward.quantize import quantize_classifier
from pytest_drlreward.checks.labelled import load_labelled_images
from pytest_drlreward.classifier import sha256_of
from pytest_drlreward.classifier.int8 import INT8_BIN, INT8_METADATA, INT8_SUBDIR, INT8_XML, open_int8_model

nncf = pytest.importorskip("nncf")  # the optional extra: pip install "pytest-drlreward[int8]"

FIXTURE = LABELLED_IMAGES


@pytest.fixture(scope="module")
def labelled():
    """Fixture images and labels; shapes come from the data (the shipped model's size may change)."""
    images, labels = load_labelled_images(FIXTURE)
    assert images.shape[1:] == open_model_dir().image_shape, "fixture images do not fit the shipped classifier"
    return images, labels


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory, labelled):
    return quantize_classifier(open_model_dir(), labelled[0], tmp_path_factory.mktemp("int8") / "shipped_int8")


@pytest.fixture(scope="module")
def backends(int8_dir):
    return {"f32": load_backend("openvino"), "int8": load_backend("openvino", int8_model=int8_dir)}


def test_int8_directory_records_its_source(int8_dir, labelled):
    assert sorted(p.name for p in int8_dir.iterdir()) == sorted([INT8_XML, INT8_BIN, INT8_METADATA])
    meta = json.loads((int8_dir / INT8_METADATA).read_text())
    assert meta["nncf_version"] == nncf.__version__
    assert meta["calibration_images"] == len(labelled[0])
    assert meta["source_onnx_sha256"] == sha256_of(open_model_dir().onnx_path)
    assert not [p for p in int8_dir.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_int8_decisions_agree_with_f32_on_every_fixture_image(backends, labelled):
    images, labels = labelled
    f32, int8 = backends["f32"].predict_goal(images), backends["int8"].predict_goal(images)
    disagree = np.flatnonzero(f32 != int8)
    assert disagree.size == 0, f"INT8 and f32 decisions differ on fixture images {disagree.tolist()}"
    np.testing.assert_array_equal(int8, labels.astype(bool))  # and both are right
    assert backends["int8"].name == "openvino" and backends["int8"].int8
    # Every batch size goes through the same IR (dynamic batch axis kept).
    np.testing.assert_array_equal(backends["int8"].predict_goal(images[:1]), int8[:1])


def test_int8_model_really_runs_int8_convolutions(backends):
    precisions = Counter(op.get_rt_info()["runtimePrecision"].astype(str)
                         for op in backends["int8"].compiled.get_runtime_model().get_ordered_ops()
                         if op.get_rt_info()["layerType"].astype(str) == "Convolution")
    assert precisions and set(precisions) <= {"u8", "i8"}, precisions


def test_int8_model_accepts_its_xml_path(int8_dir, labelled):
    backend = load_backend("openvino", int8_model=int8_dir / INT8_XML)
    assert backend.source == int8_dir / INT8_XML
    assert backend.logits(labelled[0][:2]).shape == (2, 2)


def test_int8_model_from_other_weights_is_refused_by_hash(int8_dir, tmp_path):
    other_path = shutil.copytree(open_model_dir().path, tmp_path / "other")
    scale_largest_onnx_weight(other_path)
    other = open_model_dir(other_path)
    expected = json.loads((int8_dir / INT8_METADATA).read_text())["source_onnx_sha256"]
    with pytest.raises(ModelDirError) as info:
        load_backend("openvino", other, int8_model=int8_dir)
    assert expected in str(info.value) and sha256_of(other.onnx_path) in str(info.value)


def test_altered_or_incomplete_int8_directory_is_refused(int8_dir, tmp_path):
    copy = shutil.copytree(int8_dir, tmp_path / "copy")
    with open(copy / INT8_BIN, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x7f")
    with pytest.raises(ModelDirError, match="does not match the sha256"):
        load_backend("openvino", int8_model=copy)
    (copy / INT8_METADATA).unlink()
    with pytest.raises(ModelDirError, match="int8.json is missing"):
        open_int8_model(copy, open_model_dir())
    with pytest.raises(ModelDirError, match="does not exist"):
        load_backend("openvino", int8_model=tmp_path / "nowhere")
    with pytest.raises(ModelDirError, match="int8_model must be"):
        load_backend("openvino", int8_model=copy / INT8_BIN)


def test_missing_nncf_gives_the_install_hint(monkeypatch, labelled, tmp_path):
    monkeypatch.setitem(sys.modules, "nncf", None)  # as if not installed
    with pytest.raises(BackendUnavailableError, match=r'pip install "openvino>=.*"nncf>=.*\[int8\] extra; or pip install "\.\[int8\]"'):
        quantize_classifier(None, labelled[0], tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stage", ["quantize", "save"])
def test_failed_quantisation_leaves_nothing(monkeypatch, labelled, tmp_path, stage):
    def failing_quantize(*args, **kwargs):
        raise RuntimeError("quantisation failed")

    def partial_save(model, path, compress_to_fp16=True):
        Path(path).write_text("<net half")  # a half-written IR, then a crash
        raise RuntimeError("disk full")

    if stage == "quantize":
        monkeypatch.setattr(nncf, "quantize", failing_quantize)
    else:
        monkeypatch.setattr(nncf, "quantize", lambda model, dataset, **kwargs: model)
        monkeypatch.setattr(ov, "save_model", partial_save)
    with pytest.raises(RuntimeError):
        quantize_classifier(None, labelled[0][:4], tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_refused_before_any_work(labelled, tmp_path):
    images = labelled[0]
    with pytest.raises(ValueError, match="calibration_inputs must be uint8"):
        quantize_classifier(None, images[:, :-1], tmp_path / "out")
    with pytest.raises(ValueError, match="calibration_inputs must be uint8"):
        quantize_classifier(None, images.astype(np.float32), tmp_path / "out")
    with pytest.raises(ValueError, match="subset_size"):
        quantize_classifier(None, images, tmp_path / "out", subset_size=0)
    with pytest.raises(ValueError, match="classifier directory itself"):
        quantize_classifier(None, images, open_model_dir().path)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(FileExistsError):
        quantize_classifier(None, images, tmp_path / "busy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


# -- the shipped-INT8 convention (<model_dir>/int8), the quantize command, bench-backends --------------
def _model_copy(target: Path) -> Path:
    """A copy of the shipped classifier directory without any INT8 model of its own."""
    shutil.copytree(open_model_dir().path, target, ignore=shutil.ignore_patterns(INT8_SUBDIR))
    return target


@pytest.fixture(scope="module")
def tiny_capture(tmp_path_factory):
    from panda_env.training.capture import capture, save_capture

    data = capture(24, seed=3, image_size=open_model_dir().image_shape[0])
    return save_capture(data, tmp_path_factory.mktemp("capture") / "cap")


@pytest.fixture(scope="module")
def quantized_copy(tmp_path_factory, tiny_capture):
    """A classifier directory copy whose int8/ was written by `python -m panda_env quantize`, and the output."""
    model = _model_copy(tmp_path_factory.mktemp("model") / "classifier")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["quantize", "--data", str(tiny_capture), "--model", str(model), "--subset", "8",
                       "--rounds", "5"])
    assert status == 0, stdout.getvalue()
    return model, stdout.getvalue()


def test_cli_quantize_writes_the_model_dirs_int8_and_compares_it_with_f32(quantized_copy):
    model, output = quantized_copy
    assert sorted(p.name for p in (model / INT8_SUBDIR).iterdir()) == sorted([INT8_XML, INT8_BIN, INT8_METADATA])
    assert not [p for p in model.iterdir() if p.name.startswith(".")]  # no temporary left
    open_model_dir(model)  # the classifier directory still verifies with int8/ inside it
    assert json.loads((model / INT8_SUBDIR / INT8_METADATA).read_text())["calibration_images"] == 8
    assert "calibrated on 8 of the 24 images" in output
    agreement = re.search(r"INT8 vs f32 argmax agreement (\S+) \((\d+)/24 images\); "
                          r"accuracy f32 (\S+), INT8 (\S+)", output)
    assert agreement, output
    assert 0.0 <= float(agreement[1]) <= 1.0 and 0.0 <= float(agreement[3]) <= 1.0
    for batch in (1, 8):  # the latency table: batch, f32 ms, INT8 ms, ratio
        assert re.search(rf"^\s+{batch}\s+\S+\s+\S+\s+\S+x$", output, re.MULTILINE), output


def test_int8_model_true_compiles_the_model_dirs_int8(quantized_copy):
    model, _ = quantized_copy
    backend = load_backend("openvino", model, int8_model=True)
    assert backend.int8 and backend.source == model / INT8_SUBDIR / INT8_XML
    images = np.zeros((2, *open_model_dir(model).image_shape), dtype=np.uint8)
    assert backend.logits(images).shape == (2, 2)
    assert not load_backend("openvino", model, int8_model=False).int8


def test_int8_model_true_without_int8_names_the_core_writer(tmp_path):
    model = _model_copy(tmp_path / "classifier")
    with pytest.raises(ModelDirError) as info:
        load_backend("openvino", model, int8_model=True)
    message = str(info.value)
    assert str(model / INT8_SUBDIR) in message
    assert f"pytest_drlreward.quantize_classifier('{model}', calibration_inputs)" in message


def test_cli_quantize_checks_the_output_before_quantising(quantized_copy, tiny_capture, monkeypatch, capsys):
    import panda_env.reward.quantize as quantize_module
    import panda_env.training.capture as capture_module

    model, _ = quantized_copy
    monkeypatch.setattr(quantize_module, "quantize_classifier", lambda *a, **k: pytest.fail("quantised anyway"))
    monkeypatch.setattr(capture_module, "load_capture", lambda *a, **k: pytest.fail("loaded before checking --out"))
    before = sha256_of(model / INT8_SUBDIR / INT8_BIN)
    assert main(["quantize", "--data", str(tiny_capture), "--model", str(model)]) == 2  # default --out: MODEL/int8
    err = capsys.readouterr().err
    assert "--overwrite" in err and str(model / INT8_SUBDIR) in err and "Traceback" not in err
    for out, reason in ((model, "classifier directory itself"), (model.parent, "containing the classifier")):
        assert main(["quantize", "--data", str(tiny_capture), "--model", str(model), "--out", str(out),
                     "--overwrite"]) == 2
        assert reason in capsys.readouterr().err
    assert sha256_of(model / INT8_SUBDIR / INT8_BIN) == before


def test_bench_backends_adds_openvino_int8_when_the_model_dir_has_int8(quantized_copy, tmp_path):
    model, _ = quantized_copy
    rows = backend_latency_table(model, backends=("torch", "openvino"), rounds=2, warmup=1)
    assert [(r["backend"], r["batch"]) for r in rows] == [
        (name, batch) for batch in (1, 8) for name in ("torch", "openvino", INT8_ROW)]
    assert all(np.isfinite(r["speedup_vs_torch"]) and r["median_ms"] > 0 for r in rows)
    plain = backend_latency_table(_model_copy(tmp_path / "plain"), backends=("openvino",), batch_sizes=(1,),
                                  rounds=2, warmup=1)
    assert [r["backend"] for r in plain] == ["openvino"]


def test_the_core_writer_quantises_a_foreign_directory_into_its_int8(tmp_path):
    """``pytest_drlreward.quantize_classifier`` works on any project's directory (tests/downstream's tiny CNN),
    defaults to ``<model_dir>/int8``, and the registry's ``openvino-int8`` backend then runs it."""
    import shutil

    import pytest_drlreward
    from pytest_drlreward.backends import load_backend as core_load_backend

    source = TINY_MODEL
    model = tmp_path / "tiny"
    shutil.copytree(source, model)
    with np.load(model / "labelled_images.npz") as data:
        images = data["images"]
    out = pytest_drlreward.quantize_classifier(model, images)
    assert out == model / INT8_SUBDIR and (out / INT8_XML).is_file()
    int8 = core_load_backend("openvino-int8", model)
    f32 = core_load_backend("openvino", model)
    assert int8.name == "openvino-int8" and int8.int8
    agreement = np.mean(int8.predict_goal(images) == f32.predict_goal(images))
    assert agreement >= 0.9, agreement
