"""Parsing the structured ini values, and the start-up checks behind the usage errors (classifier directory,
torch_factory and env factory looked up in their source without importing them, labelled-image headers,
backend options, backend variants)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from repo_paths import DOWNSTREAM, ROOT

from pytest_drlreward import load_backend
from pytest_drlreward.backends import CANDIDATE_NAMES, base_backend, is_quantized, missing_package
from pytest_drlreward.checks.labelled import check_labelled_file
from pytest_drlreward.classifier import ModelDirError
from pytest_drlreward.plugin.preflight import check_backend_options, check_model_dir, check_variants
from pytest_drlreward.util.settings import options_for, parse_backend_options, parse_tolerances
from pytest_drlreward.util.sourcecheck import lookup


@pytest.mark.parametrize("value", [
    "openvino = 1e-5, 1e-4\nonnxruntime = 0 0.1",
    ["openvino = 1e-5,1e-4", "onnxruntime: 0, 0.1"],
    str({"openvino": "1e-5, 1e-4", "onnxruntime": "0,0.1"}),  # a TOML inline table, as pytest passes it on
])
def test_tolerance_tables(value):
    assert parse_tolerances(value) == {"openvino": (1e-5, 1e-4), "onnxruntime": (0.0, 0.1)}


@pytest.mark.parametrize("value, problem", [("openvino 1e-5", "not 'backend = atol, rtol'"),
                                            ("openvino = 1e-5", "give two numbers"),
                                            ("openvino = -1, 0", "atol '-1' must be a finite number >= 0")])
def test_bad_tolerance_tables(value, problem):
    with pytest.raises(ValueError, match=problem):
        parse_tolerances(value)


def test_backend_option_tables():
    table = parse_backend_options(["threads=1", "openvino: precision=f32, performance_hint=THROUGHPUT", "# a comment"])
    assert table == {"*": {"threads": 1}, "openvino": {"precision": "f32", "performance_hint": "THROUGHPUT"}}
    assert options_for(table, "openvino") == {"threads": 1, "precision": "f32", "performance_hint": "THROUGHPUT"}
    assert options_for(table, "torch") == {"threads": 1}
    assert parse_backend_options(str({"threads": 2, "torch": {"threads": 1}})) == {"*": {"threads": 2}, "torch": {"threads": 1}}
    with pytest.raises(ValueError, match="is not 'option=value'"):
        parse_backend_options("openvino: precision")


def test_backend_options_are_checked_against_each_backend():
    check_backend_options({"*": {"threads": 1}, "openvino": {"precision": "f32"}}, ["onnxruntime", "openvino-int8"])
    with pytest.raises(ValueError, match="backend 'torch' takes no option 'thread'; its options: threads"):
        check_backend_options({"*": {"thread": 1}}, ["onnxruntime"])
    with pytest.raises(ValueError, match="options for unknown backend 'tensorrt'"):
        check_backend_options({"tensorrt": {"threads": 1}}, [])
    with pytest.raises(ValueError, match="threads=0 must be an integer from 1"):
        check_backend_options({"*": {"threads": 0}}, [])


def test_source_lookup_needs_no_import(tmp_path, monkeypatch):
    (tmp_path / "heavy_factory.py").write_text(
        "import no_such_package_anywhere\n\ndef build():\n    pass\n\ntry:\n    from x import helper\nexcept ImportError:\n"
        "    helper = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert lookup("heavy_factory", "build").found is True
    assert lookup("heavy_factory", "helper").found is True
    missing = lookup("heavy_factory", "buld")
    assert missing.found is False and missing.suggestions == ("build",) and missing.path == tmp_path / "heavy_factory.py"
    assert "heavy_factory" not in sys.modules  # found without running it
    assert lookup("no_such_module_xyz", "f").module_found is False
    (tmp_path / "lazy.py").write_text("def __getattr__(name):\n    return 1\n")
    assert lookup("lazy", "anything").found is None  # the source cannot tell


def test_model_dir_checks_name_the_file(model_copy):
    check_model_dir(model_copy)
    meta = model_copy / "metadata.json"
    metadata = json.loads(meta.read_text())
    metadata["torch_factory"] = "panda_env.reward.model:build_clasifier"
    meta.write_text(json.dumps(metadata))
    with pytest.raises(ModelDirError, match=r"metadata.json: torch_factory .* defines no 'build_clasifier'; did you mean "
                                            r"'build_classifier'"):
        check_model_dir(model_copy)
    (model_copy / "classifier.pt").write_bytes(b"corrupt")
    with pytest.raises(ModelDirError, match=r"classifier.pt does not match the sha256"):
        check_model_dir(model_copy)


def test_variants_need_what_they_load():
    from pytest_drlreward.classifier import open_model_dir

    directory = open_model_dir(DOWNSTREAM / "models" / "tiny")
    check_variants(directory, ["onnxruntime", "openvino"])
    with pytest.raises(ModelDirError, match="has no INT8 model"):
        check_variants(directory, ["openvino-int8"])
    assert "openvino-int8" in CANDIDATE_NAMES and is_quantized("openvino-int8") and not is_quantized("openvino")
    assert base_backend("openvino-int8") == "openvino" and missing_package("openvino-int8") is None


def test_openvino_int8_loads_the_model_dirs_int8_model(model_copy):
    pytest.importorskip("openvino")
    backend = load_backend("openvino-int8", model_copy)
    assert backend.name == "openvino-int8" and backend.int8
    assert not load_backend("openvino", model_copy).int8


def test_labelled_file_headers_are_checked_without_loading(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, images=np.zeros((3, 4, 4, 3), np.uint8), labels=np.array([True, False, True]))
    check_labelled_file(good)
    for name, arrays, problem in [
        ("nolabels", {"images": np.zeros((3, 4, 4, 3), np.uint8)}, "lacks \\['labels'\\]"),
        ("float", {"images": np.zeros((3, 4, 4, 3)), "labels": np.zeros(3, int)}, "images must be uint8"),
        ("short", {"images": np.zeros((3, 4, 4, 3), np.uint8), "labels": np.zeros(2, int)}, "labels must be bool or"),
    ]:
        np.savez(tmp_path / f"{name}.npz", **arrays)
        with pytest.raises(ValueError, match=problem):
            check_labelled_file(tmp_path / f"{name}.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        check_labelled_file(tmp_path / "text.npz")


def test_configuring_the_plugin_imports_no_engine():
    """The start-up checks of this repository's own settings (model directory, int8, env) stay light."""
    code = ("import sys, pytest\n"
            "rc = pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'tests/checks/test_verify_timing.py'])\n"
            "bad = [m for m in ('torch', 'openvino', 'onnxruntime', 'pybullet') if m in sys.modules]\n"
            "print('HEAVY:', bad)\nsys.exit(int(rc) or (3 if bad else 0))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "HEAVY: []" in result.stdout, result.stdout + result.stderr


def test_backend_threads_default_to_a_share_of_the_cores_under_xdist(monkeypatch):
    import os

    from pytest_drlreward.plugin.fixtures import backend_threads
    from pytest_drlreward.plugin.options import DrlConfig

    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    assert backend_threads(DrlConfig(), "torch") is None  # the engine's default
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    assert backend_threads(DrlConfig(), "torch") == max(1, (os.cpu_count() or 1) // 2)
    configured = DrlConfig(backend_options={"*": {"threads": 1}, "openvino": {"threads": 2}})
    assert backend_threads(configured, "torch") == 1 and backend_threads(configured, "openvino") == 2
