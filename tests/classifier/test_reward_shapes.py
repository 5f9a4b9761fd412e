"""Learned rewards of every shape (issue 19): a two-camera single-logit classifier with a threshold, an
ONNX-only directory, a callable reference, and what breaks each of them (another model's ONNX file,
inputs the model does not take)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import reward_models
from model_edits import rehash
from repo_paths import TESTS

from pytest_drlreward import export_classifier, load_backend, write_classifier_dir
from pytest_drlreward.checks import ParityError, assert_backends_agree, assert_decisions_agree
from pytest_drlreward.classifier import ONNX_FILE

pytest.importorskip("torch")
ROOT = TESTS.parent
THRESHOLD = 0.85
BACKENDS = ("torch", "onnxruntime", "openvino")
RANGES = {"front": (0.0, 1.0), "wrist": (0.0, 1.0)}  # view_batch's views: floats in [0, 1]


@pytest.fixture(scope="module")
def two_view_dir(tmp_path_factory) -> Path:
    """A TwoView model whose median logit on ``view_batch(200)`` sits at the 0.85 threshold, exported."""
    import torch

    model = reward_models.TwoView(seed=0)
    views = reward_models.view_batch(200)
    with torch.inference_mode():
        logits = model(**{k: torch.from_numpy(v) for k, v in views.items()}).numpy()
        model.head.bias += float(math.log(THRESHOLD / (1 - THRESHOLD)) - np.median(logits))
    out = tmp_path_factory.mktemp("two_view") / "classifier"
    export_classifier(model, reward_models.view_batch(2, seed=1), out, torch_factory="reward_models:TwoView",
                      threshold=THRESHOLD, input_ranges=RANGES, info={"made_by": "tests/classifier/test_reward_shapes.py"})
    return out


def test_export_writes_format_2_with_named_inputs_and_a_sigmoid_rule(two_view_dir):
    from pytest_drlreward.classifier import open_model_dir

    directory = open_model_dir(two_view_dir)
    assert directory.metadata["format_version"] == 2
    assert [(s.name, s.item_shape, s.dtype, s.layout) for s in directory.inputs] == [
        ("front", (3, 64, 64), "float32", "NCHW"), ("wrist", (3, 64, 64), "float32", "NCHW")]
    assert directory.output.shape == (None,)
    assert str(directory.decision) == "sigmoid > 0.85"
    assert set(directory.metadata["files"]) == {"classifier.onnx", "classifier.pt"}


@pytest.mark.parametrize("name", BACKENDS)
def test_predict_goal_is_sigmoid_of_the_logit_above_the_threshold_on_200_inputs(two_view_dir, name):
    backend = load_backend(name, two_view_dir)
    views = reward_models.view_batch(200)
    logits = backend.logits(views)
    assert logits.shape == (200,) and logits.dtype == np.float32
    probability = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    np.testing.assert_allclose(backend.goal_probability(views), probability, rtol=1e-12)
    goal = backend.predict_goal(views)
    np.testing.assert_array_equal(goal, probability > THRESHOLD)
    assert 20 < goal.sum() < 180, "the threshold must cut the sample, or the test shows nothing"


def test_all_backends_agree_on_the_two_view_model(two_view_dir):
    views = reward_models.view_batch(64, seed=3)
    reference = load_backend("torch", two_view_dir)
    for name in BACKENDS[1:]:
        assert_backends_agree(reference, load_backend(name, two_view_dir), views, atol=1e-4, rtol=1e-3)
        assert_decisions_agree(reference, load_backend(name, two_view_dir), views)


def test_a_missing_or_misshapen_input_names_the_input_and_both_shapes(two_view_dir):
    backend = load_backend("onnxruntime", two_view_dir)
    views = reward_models.view_batch(2)
    with pytest.raises(ValueError, match=r"missing \['wrist'\]"):
        backend.logits({"front": views["front"]})
    with pytest.raises(ValueError, match=r"input 'wrist' must be float32 \(N, 3, 64, 64\), got shape \(2, 3, 32, 32\)"):
        backend.logits({"front": views["front"], "wrist": views["wrist"][:, :, :32, :32]})
    with pytest.raises(ValueError, match=r"input 'front' must be float32 .* got dtype uint8"):
        backend.logits({"front": views["front"].astype(np.uint8), "wrist": views["wrist"]})
    with pytest.raises(ValueError, match="pass a dict"):
        backend.logits(views["front"])


def test_the_onnx_file_of_a_differently_initialised_twin_fails_parity_naming_input_and_element(two_view_dir, tmp_path):
    twin_dir = tmp_path / "twin"
    export_classifier(reward_models.TwoView(seed=1), reward_models.view_batch(2), twin_dir, threshold=THRESHOLD,
                      input_ranges=RANGES)
    broken = Path(shutil.copytree(two_view_dir, tmp_path / "broken"))
    shutil.copyfile(twin_dir / ONNX_FILE, broken / ONNX_FILE)
    rehash(broken, ONNX_FILE)
    with pytest.raises(ParityError) as caught:
        assert_backends_agree(load_backend("torch", broken), load_backend("onnxruntime", broken),
                              reward_models.view_batch(16), atol=1e-4, rtol=1e-3)
    assert "worst element: batch row " in str(caught.value) and "output element 0" in str(caught.value)
    assert "16 inputs x 1 output values" in str(caught.value)


def test_write_classifier_dir_wraps_an_onnx_file_without_torch(two_view_dir, tmp_path):
    written = write_classifier_dir(two_view_dir / ONNX_FILE, tmp_path / "onnx_only", threshold=THRESHOLD,
                                   input_ranges=RANGES)
    assert set(written.metadata["files"]) == {"classifier.onnx"} and not written.has_torch_factory
    assert [s.name for s in written.inputs] == ["front", "wrist"] and str(written.decision) == "sigmoid > 0.85"
    views = reward_models.view_batch(50)
    np.testing.assert_array_equal(load_backend("openvino", written).predict_goal(views),
                                  load_backend("torch", two_view_dir).predict_goal(views))
    from pytest_drlreward.classifier import ModelDirError

    with pytest.raises(ModelDirError, match="no torch_factory"):
        load_backend("torch", written)


def test_write_classifier_dir_refuses_a_threshold_outside_the_sigmoid_range(two_view_dir, tmp_path):
    with pytest.raises(ValueError, match=r"decision.threshold 1.5 must be a number in \(0, 1\)"):
        write_classifier_dir(two_view_dir / ONNX_FILE, tmp_path / "bad", threshold=1.5, input_ranges=RANGES)
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("writer", ["export_classifier", "write_classifier_dir"])
def test_both_writers_refuse_a_misspelt_description_keyword_naming_it_and_the_known_ones(two_view_dir, tmp_path,
                                                                                          writer):
    out = tmp_path / "misspelt"
    with pytest.raises(TypeError, match=rf"{writer}\(\) got unexpected keyword argument\(s\) \['treshold'\]; "
                                        r"its description keywords are \['decision', 'threshold'"):
        if writer == "export_classifier":
            export_classifier(reward_models.TwoView(seed=0), reward_models.view_batch(2), out, treshold=THRESHOLD)
        else:
            write_classifier_dir(two_view_dir / ONNX_FILE, out, treshold=THRESHOLD)
    assert not out.exists()


# -- the contract suite on these models, as a user runs it (a subprocess) ----------------------------------
NO_TORCH = textwrap.dedent("""\
    import importlib.abc, sys

    class _NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this test (an [onnxruntime,openvino]-only install)")
            return None

    sys.meta_path.insert(0, _NoTorch())
    import pytest
    sys.exit(pytest.main(sys.argv[1:]))
""")


def _project(tmp_path: Path, model_dir: Path, extra_ini: str = "") -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copyfile(TESTS / "reward_models.py", project / "reward_models.py")
    (project / "pytest.ini").write_text(
        f"[pytest]\npythonpath = .\ndrl_env = reward_models:make_two_view_env\ndrl_model = {model_dir}\n"
        f"drl_truth_key = true_goal\ndrl_fidelity_steps = 60\n{extra_ini}")
    return project


def _suite(project: Path, *args: str, block_torch: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(project)])}
    env.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-c", NO_TORCH] if block_torch else [sys.executable, "-m", "pytest"]
    return subprocess.run([*command, "--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider", "-rs", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)


def test_two_view_model_passes_the_suites_parity_tests(two_view_dir, tmp_path):
    result = _suite(_project(tmp_path, two_view_dir), "-m", "parity")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    assert "decision rule sigmoid > 0.85; reference torch" in result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("labelled images" in line for line in skipped), skipped


def test_onnx_only_directory_runs_openvino_against_onnxruntime_without_torch(two_view_dir, tmp_path):
    onnx_only = write_classifier_dir(two_view_dir / ONNX_FILE, tmp_path / "onnx_only", threshold=THRESHOLD,
                                     input_ranges=RANGES).path
    result = _suite(_project(tmp_path, onnx_only), "-m", "parity", "-v", block_torch=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "reference onnxruntime (the classifier directory has no torch_factory" in result.stdout
    assert "[openvino] PASSED" in result.stdout and "[torch]" not in result.stdout
    assert "torch" not in "\n".join(line for line in result.stdout.splitlines() if line.startswith("SKIPPED"))


def test_a_callable_reference_of_another_model_fails_the_onnx_only_parity(two_view_dir, tmp_path):
    """The same suite fails when the reference computes another model: the ONNX-only parity is a real check."""
    onnx_only = write_classifier_dir(two_view_dir / ONNX_FILE, tmp_path / "onnx_only", threshold=THRESHOLD,
                                     input_ranges=RANGES).path
    project = _project(tmp_path, onnx_only, "drl_reference = reward_models:mean_views_numpy\n")
    result = _suite(project, "-m", "parity", block_torch=True)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "worst element: batch row" in result.stdout and "reference 'reward_models:mean_views_numpy'" in result.stdout


NAMED_REFERENCE = """from reward_models import mean_views_numpy


def forward(front, wrist):  # the inputs by name, as JAX's model.apply(params, front, wrist) takes them once bound
    return mean_views_numpy({"front": front, "wrist": wrist})
"""


@pytest.mark.parametrize("reference", ["reward_models:mean_views_numpy", "named_reference:forward"])
def test_a_callable_reference_over_an_onnx_only_directory_passes(tmp_path, reference):
    """One dict, or one keyword argument per input (issue 27: a reference taking named arguments)."""
    out = export_classifier(reward_models.MeanViews(), reward_models.view_batch(2), tmp_path / "mean_views",
                            threshold=0.7, input_ranges=RANGES).path
    project = _project(tmp_path, out, f"drl_reference = {reference}\n")
    (project / "named_reference.py").write_text(NAMED_REFERENCE)
    result = _suite(project, "-m", "parity", block_torch=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"reference {reference}" in result.stdout
