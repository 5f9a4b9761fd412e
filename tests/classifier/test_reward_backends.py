"""The reward backends: agreement with Torch, the shipped classifier, and every bad input's error."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from model_edits import rehash

from panda_env.reward import BACKEND_NAMES, BackendUnavailableError, ModelDirError, load_backend, open_model_dir
from pytest_drlreward import export_classifier
from pytest_drlreward.checks import ParityError, assert_backends_agree
from pytest_drlreward.classifier import ONNX_FILE, TORCH_FILE
from pytest_drlreward.strategies import image_batches

# f32 everywhere: measured differences against Torch are ~1e-6 on logits of magnitude ~10.
ATOL, RTOL = 1e-4, 1e-4
SHAPE = open_model_dir().image_shape
CANDIDATES = [name for name in BACKEND_NAMES if name != "torch"]


@pytest.fixture(scope="module")
def backends():
    return {name: load_backend(name) for name in BACKEND_NAMES}


@pytest.mark.parity
@pytest.mark.parametrize("name", CANDIDATES)
def test_backend_agrees_with_torch_on_any_images(backends, name):
    reference, candidate = backends["torch"], backends[name]

    @given(images=image_batches(*SHAPE[:2], min_batch=1, max_batch=8))
    def check(images):
        assert_backends_agree(reference, candidate, images, atol=ATOL, rtol=RTOL, check_argmax=False)
        # Argmax identical wherever Torch's decision is not a tie within the tolerance.
        ref = reference.logits(images)
        clear = np.abs(ref[:, 1] - ref[:, 0]) > 2 * ATOL
        assert np.array_equal(reference.predict_goal(images)[clear], candidate.predict_goal(images)[clear])

    check()


def test_shipped_classifier_labels_fixture_images(backends, labelled_images):
    images, labels = labelled_images
    for name, backend in backends.items():
        predicted = backend.predict_goal(images).astype(int)
        assert np.array_equal(predicted, labels), f"{name}: wrong on images {np.flatnonzero(predicted != labels)}"


@pytest.fixture(scope="module")
def other_weights_dir(tmp_path_factory):
    """A classifier with the shipped architecture but other (random) weights."""
    import torch

    directory = open_model_dir()
    torch.manual_seed(123)
    factory_kwargs = directory.metadata["torch_factory_kwargs"]
    from panda_env.reward.model import build_classifier

    images = np.zeros((2, *SHAPE), dtype=np.uint8)
    return export_classifier(build_classifier(**factory_kwargs), images, tmp_path_factory.mktemp("m") / "other",
                             torch_factory=directory.metadata["torch_factory"], torch_factory_kwargs=factory_kwargs)


@pytest.mark.parity
@pytest.mark.parametrize("name", CANDIDATES)
def test_agreement_check_catches_other_weights(backends, other_weights_dir, labelled_images, name):
    other = load_backend(name, other_weights_dir)
    with pytest.raises(ParityError, match="worst element"):
        assert_backends_agree(backends["torch"], other, labelled_images[0], atol=ATOL, rtol=RTOL)


def test_logits_shape_and_dtype_for_any_batch(backends):
    rng = np.random.default_rng(0)
    for n in (1, 3, 8):
        images = rng.integers(0, 256, (n, *SHAPE), dtype=np.uint8)
        for backend in backends.values():
            logits = backend.logits(images)
            assert logits.dtype == np.float32 and logits.shape == (n, 2)
            assert backend.predict_goal(images).dtype == bool


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BACKEND_NAMES)
@pytest.mark.parametrize(("images", "fragment"), [
    (np.zeros((1, *SHAPE), dtype=np.float32), "dtype float32"),
    (np.zeros(SHAPE, dtype=np.uint8), f"shape {SHAPE}"),
    (np.zeros((1, SHAPE[0], SHAPE[1], 4), dtype=np.uint8), f"shape (1, {SHAPE[0]}, {SHAPE[1]}, 4)"),
    (np.zeros((1, SHAPE[0] + 1, SHAPE[1], 3), dtype=np.uint8), f"shape (1, {SHAPE[0] + 1}, {SHAPE[1]}, 3)"),
    (np.zeros((0, *SHAPE), dtype=np.uint8), "empty batch"),
    ([[0]], "numpy array"),
])
def test_bad_images_name_expected_and_received(backends, name, images, fragment):
    with pytest.raises(ValueError) as error:
        backends[name].logits(images)
    assert fragment in str(error.value)
    assert "images must be" in str(error.value)


def test_unknown_backend_names_allowed_values():
    with pytest.raises(ValueError, match="allowed values: torch, onnxruntime, openvino"):
        load_backend("tensorrt")


def test_missing_model_directory_names_the_path(tmp_path):
    with pytest.raises(ModelDirError, match=str(tmp_path / "nope")):
        load_backend("torch", tmp_path / "nope")


def test_missing_file_is_named(model_copy):
    (model_copy / TORCH_FILE).unlink()
    with pytest.raises(ModelDirError, match=f"{TORCH_FILE} is missing"):
        load_backend("torch", model_copy)


def test_hash_mismatch_names_the_file(model_copy):
    (model_copy / ONNX_FILE).write_bytes((model_copy / ONNX_FILE).read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelDirError, match=f"{ONNX_FILE} does not match the sha256"):
        load_backend("openvino", model_copy)


@pytest.mark.parametrize("name", ["onnxruntime", "openvino"])
def test_corrupt_onnx_is_reported_with_its_path(model_copy, name):
    (model_copy / ONNX_FILE).write_bytes(b"not an onnx file")
    rehash(model_copy, ONNX_FILE)  # a corrupt file with a matching hash
    with pytest.raises(ModelDirError, match="cannot"):
        load_backend(name, model_copy)


@pytest.mark.parametrize(("name", "module"), [("openvino", "openvino"), ("onnxruntime", "onnxruntime")])
def test_missing_backend_package_says_what_to_install(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    monkeypatch.setattr("importlib.util.find_spec", lambda package, *a: None if package == module else object())
    with pytest.raises(BackendUnavailableError, match=rf'pip install "{module}>=.*\[{module}\] extra; or pip install "\.\[{module}\]"'):
        load_backend(name)


def test_export_leaves_nothing_behind_on_failure(tmp_path, monkeypatch):
    """The export fails inside its temporary directory (tracing a batch of 2); nothing is left."""
    import tempfile

    import torch
    from torch import nn

    class BreaksOnBatches(nn.Module):
        def forward(self, x):
            if x.shape[0] > 1:
                raise RuntimeError("boom")
            return torch.zeros((1, 2))

    made = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    with pytest.raises(Exception, match="boom"):
        export_classifier(BreaksOnBatches(), np.zeros((1, 8, 8, 3), dtype=np.uint8), tmp_path / "out",
                          torch_factory="panda_env.reward.model:build_classifier")
    assert len(made) == 1 and made[0].startswith(str(tmp_path / ".out."))  # it got as far as the temporary
    assert list(tmp_path.iterdir()) == []


def test_export_rejects_bad_example_images(tmp_path):
    from panda_env.reward.model import build_classifier

    with pytest.raises(ValueError, match="uint8 of shape"):
        export_classifier(build_classifier(), np.zeros((2, 8, 8), dtype=np.float32), tmp_path / "o",
                          torch_factory="panda_env.reward.model:build_classifier")


# -- the shipped INT8 model (running it needs no nncf) ------------------------------------------------
def test_shipped_int8_model_agrees_with_f32_on_every_fixture_image(backends, labelled_images):
    images, labels = labelled_images
    int8 = load_backend("openvino", int8_model=True)
    assert int8.int8 and int8.source.name == "classifier_int8.xml"
    np.testing.assert_array_equal(int8.predict_goal(images), backends["openvino"].predict_goal(images))
    np.testing.assert_array_equal(int8.predict_goal(images), labels.astype(bool))
    # it is a different (quantised) computation, not the f32 graph under another name
    assert np.abs(int8.logits(images) - backends["openvino"].logits(images)).max() > 1e-3


def test_install_hints_name_commands_that_work_without_a_package_index():
    """pytest-drlreward is not on a package index: a hint installs the extra's own packages, or the extra from a clone."""
    from pytest_drlreward.backends.registry import install_hint

    hint = install_hint("panda")
    assert 'pip install "pytest-drlreward[' not in hint  # "No matching distribution found"
    assert '"torch>=' in hint and '"pybullet>=' in hint  # the panda extra's own extra (torch) expanded
    assert 'pip install ".[panda]" in a clone' in hint
