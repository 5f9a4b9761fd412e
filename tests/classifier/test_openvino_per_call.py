"""OpenVINO's per-call settings: one stream for the latency hint, static-shape compilations per batch size."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("onnxruntime")

from panda_env.reward import load_backend  # noqa: E402
from pytest_drlreward.backends.openvino_backend import STATIC_BATCHES  # noqa: E402


def test_each_batch_size_gets_its_static_compilation_with_the_same_logits():
    openvino, reference = load_backend("openvino"), load_backend("onnxruntime")
    assert int(openvino.compiled.get_property("NUM_STREAMS")) == 1
    rng = np.random.default_rng(0)
    sizes = list(range(1, STATIC_BATCHES + 3))
    for size in [*sizes, 1]:
        images = rng.integers(0, 256, size=(size, *openvino.model_dir.image_shape), dtype=np.uint8)
        np.testing.assert_allclose(openvino.logits(images), reference.logits(images), atol=1e-4, rtol=1e-4)
    compiled = [shape[0] for shape, request in openvino._static.items() if request is not None]
    assert compiled == sizes[:STATIC_BATCHES]  # later sizes run on the dynamic graph
    assert all(openvino._static[(size, *openvino.model_dir.image_shape)] is None for size in sizes[STATIC_BATCHES:])


def test_a_non_contiguous_batch_is_read_as_given():
    openvino, reference = load_backend("openvino"), load_backend("onnxruntime")
    images = np.random.default_rng(1).integers(0, 256, size=(4, *openvino.model_dir.image_shape), dtype=np.uint8)
    every_other = images[::2]
    assert not every_other.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(openvino.logits(every_other), reference.logits(every_other), atol=1e-4, rtol=1e-4)


def test_a_read_only_batch_is_read_too():
    openvino, reference = load_backend("openvino"), load_backend("onnxruntime")
    images = np.random.default_rng(2).integers(0, 256, size=(2, *openvino.model_dir.image_shape), dtype=np.uint8)
    images.flags.writeable = False
    np.testing.assert_allclose(openvino.logits(images), reference.logits(images), atol=1e-4, rtol=1e-4)


def test_bf16_moves_the_logits_but_not_the_decisions_on_a_cpu_that_has_it():
    """bf16 is a variant to judge by decisions (as INT8 is): read the CPU's capabilities, never assume them."""
    from repo_paths import LABELLED_IMAGES

    from pytest_drlreward.backends.openvino_backend import optimization_capabilities

    if "BF16" not in optimization_capabilities():
        pytest.skip(f"this CPU computes no bf16 (OpenVINO: {optimization_capabilities()}): the hint runs f32")
    data = np.load(LABELLED_IMAGES)
    bf16, f32 = load_backend("openvino", precision="bf16"), load_backend("openvino")
    images = data["images"]
    assert np.abs(bf16.logits(images) - f32.logits(images)).max() > 1e-3  # far beyond f32 parity
    np.testing.assert_array_equal(bf16.predict_goal(images), f32.predict_goal(images))
    np.testing.assert_array_equal(bf16.predict_goal(images), data["labels"].astype(bool))


def test_the_bf16_variant_is_judged_by_decisions_and_refused_where_the_cpu_has_no_bf16():
    """``openvino-bf16`` runs bf16 only where OpenVINO reports BF16; elsewhere it is unavailable (it would run f32)."""
    from repo_paths import LABELLED_IMAGES, SHIPPED_MODEL

    from pytest_drlreward.backends import is_quantized
    from pytest_drlreward.backends import load_backend as core_load_backend
    from pytest_drlreward.backends.openvino_backend import optimization_capabilities
    from pytest_drlreward.checks.labelled import load_labelled_images
    from pytest_drlreward.util.extras import BackendUnavailableError

    assert is_quantized("openvino-bf16")
    if "BF16" not in optimization_capabilities():
        with pytest.raises(BackendUnavailableError, match="no BF16"):
            core_load_backend("openvino-bf16", SHIPPED_MODEL)
        return
    bf16, reference = core_load_backend("openvino-bf16", SHIPPED_MODEL), load_backend("onnxruntime")
    assert bf16.name == "openvino-bf16" and "bfloat16" in str(bf16.compiled.get_property("INFERENCE_PRECISION_HINT"))
    images, _ = load_labelled_images(LABELLED_IMAGES)
    assert (bf16.predict_goal(images) == reference.predict_goal(images)).all()


def test_a_static_request_reads_each_call_from_its_own_tensor_and_never_a_stale_one():
    """A static-shape request gets each batch copied into its own input tensor: the next call sees the next batch,
    and changing the caller's array after a call changes nothing the backend keeps."""
    openvino, reference = load_backend("openvino"), load_backend("onnxruntime")
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(1, *openvino.model_dir.image_shape), dtype=np.uint8)
    first = openvino.logits(images)
    request = openvino._request_for(images.shape)
    assert np.shares_memory(openvino._input_buffer(images), request.get_input_tensor().data)
    images[:] = rng.integers(0, 256, size=images.shape, dtype=np.uint8)
    second = openvino.logits(images)
    assert not np.allclose(first, second)
    np.testing.assert_allclose(second, reference.logits(images), atol=1e-4, rtol=1e-4)
    assert openvino._input_buffer(images.astype(np.float32)) is None  # another dtype: a Tensor of its own


def test_warm_up_compiles_the_batch_size_before_the_first_call():
    openvino = load_backend("openvino")
    shape = (2, *openvino.model_dir.image_shape)
    assert shape not in openvino._static
    openvino.warm_up(2)
    assert openvino._static[shape] is not None  # compiled now, not in the first timed call


def test_warm_up_runs_on_a_model_that_is_not_ours_with_two_named_inputs(tmp_path):
    """A two-camera, one-logit model with a threshold (float inputs in [0, 1]): the warm-up feeds each named input
    its own zeros, on both ONNX engines, and the outputs after it still match."""
    import reward_models

    from pytest_drlreward import load_backend as core_load_backend

    directory = reward_models.export_two_camera(tmp_path / "two_camera", 1.0)
    openvino, onnxruntime = core_load_backend("openvino", directory), core_load_backend("onnxruntime", directory)
    assert len(openvino.inputs) == 2 and {spec.dtype for spec in openvino.inputs} == {"float32"}
    for backend in (openvino, onnxruntime):
        backend.warm_up(3)
    batch = {
        spec.name: np.random.default_rng(4).random((3, *spec.item_shape), dtype=np.float32) for spec in openvino.inputs}
    np.testing.assert_allclose(openvino.logits(batch), onnxruntime.logits(batch), atol=1e-4, rtol=1e-4)
