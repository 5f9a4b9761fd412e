"""A callable reference (issue 27, item 9): one dict or named arguments; an unusable signature is named with the
accepted forms; a reference returning probabilities where the graph gives logits gets a hint."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from pytest_drlreward.backends.call_forms import KEYWORDS, ONE_ARGUMENT, call_form, params_in_source, params_of
from pytest_drlreward.checks.probability_hint import HINT, probability_hint

NAMES = ["front", "wrist"]


def _logit(front, wrist):
    return front.mean(axis=(1, 2, 3)) - 2.0 * wrist.mean(axis=(1, 2, 3))


@pytest.fixture(scope="module")
def two_input_dir(tmp_path_factory):
    """An ONNX-only directory computing ``_logit`` (built with onnx.helper: no torch)."""
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, save

    from pytest_drlreward import write_classifier_dir

    nodes = [helper.make_node("ReduceMean", [n, "axes"], [n + "_mean"], keepdims=0) for n in NAMES]
    nodes += [helper.make_node("Mul", ["wrist_mean", "two"], ["b"]), helper.make_node("Sub", ["front_mean", "b"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 3, 4, 4]) for n in NAMES],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])],
                              [helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3]),
                               helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])])
    path = tmp_path_factory.mktemp("g") / "g.onnx"
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(path))
    return write_classifier_dir(path, path.parent / "dir", threshold=0.5, input_ranges={n: (0.0, 1.0) for n in NAMES})


def _views(n=4):
    rng = np.random.default_rng(0)
    return {name: rng.random((n, 3, 4, 4), dtype=np.float32) for name in NAMES}


def named(front, wrist):
    return _logit(front, wrist)


def with_defaults(wrist, front, *, scale=1.0):
    return scale * _logit(front, wrist)


def one_dict(inputs):
    return _logit(inputs["front"], inputs["wrist"])


def apply(params, front, wrist):  # JAX's model.apply before its params are bound
    return params * _logit(front, wrist)


def two_unnamed(a, b):
    return _logit(a, b)


@pytest.mark.parametrize("function, form", [
    (named, KEYWORDS), (with_defaults, KEYWORDS), (one_dict, ONE_ARGUMENT), (functools.partial(apply, 1.0), KEYWORDS),
    (lambda *arrays: None, ONE_ARGUMENT), (lambda **arrays: None, KEYWORDS),
])
def test_the_call_form_follows_the_signature(function, form):
    assert call_form(params_of(function), NAMES, "f") == form


@pytest.mark.parametrize("function", [apply, two_unnamed, lambda inputs, *, key: None])
def test_an_unusable_signature_names_it_and_the_accepted_forms(function):
    with pytest.raises(ValueError, match=r"the callable reference my:f\(.*\) cannot be called with the model's inputs "
                                         r"front, wrist; accepted: f\(inputs\) with one argument .* or f\(front, wrist\)"):
        call_form(params_of(function), NAMES, "my:f(...)")


@pytest.mark.parametrize("function", [named, with_defaults, one_dict, functools.partial(apply, 1.0)])
def test_the_callable_backend_passes_named_arguments_or_one_dict(two_input_dir, function):
    from pytest_drlreward.backends.callable_backend import CallableBackend
    from pytest_drlreward.backends.registry import load_backend

    views = _views()
    expected = load_backend("onnxruntime", two_input_dir).logits(views)
    np.testing.assert_allclose(CallableBackend(two_input_dir, function).logits(views), expected, rtol=1e-5)


def test_the_callable_backend_refuses_an_unusable_signature_naming_it(two_input_dir):
    from pytest_drlreward.backends.callable_backend import CallableBackend

    with pytest.raises(ValueError, match=r"apply\(params, front, wrist\) cannot be called .*functools.partial"):
        CallableBackend(two_input_dir, apply)


def test_the_signature_is_read_from_source_at_start_without_importing(tmp_path, two_input_dir, monkeypatch):
    from pytest_drlreward.plugin.model_settings import choose_reference

    (tmp_path / "flax_like.py").write_text("raise RuntimeError('imported')\n\n\ndef apply(params, front, wrist):\n"
                                           "    pass\n\n\ndef forward(front, wrist, params=None):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    params, shown = params_in_source(tmp_path / "flax_like.py", "apply")
    assert shown == "apply(params, front, wrist)" and [p.name for p in params] == ["params", "front", "wrist"]
    with pytest.raises(ValueError, match=r"flax_like:apply\(params, front, wrist\) cannot be called"):
        choose_reference("flax_like:apply", two_input_dir, "drl_reference in pytest.ini")
    assert choose_reference("flax_like:forward", two_input_dir, "here") == ("flax_like:forward", "here")


# -- probabilities where the graph gives logits --------------------------------------------------------------
def test_a_sigmoid_reference_gets_the_hint_naming_sigmoid():
    logits = np.array([-3.0, 0.5, 2.0], np.float32)
    hint = probability_hint(1 / (1 + np.exp(-logits)), logits)
    assert hint == f"{HINT}: it matches sigmoid of the graph's outputs"
    assert "return logits (before sigmoid/softmax)" in hint


def test_a_softmax_reference_gets_the_hint_naming_softmax():
    logits = np.array([[2.0, -1.0], [0.0, 3.0]])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert probability_hint(probabilities, logits).endswith("softmax of the graph's outputs")


@pytest.mark.parametrize("reference, candidate, rule", [
    (np.array([-3.0, 0.5]), np.array([-3.1, 0.4]), None),  # logits both: a plain gap
    (np.array([0.2, 0.5]), np.array([0.3, 0.6]), None),  # both in [0, 1]: nothing tells them apart
    (np.array([0.2, 0.5]), np.array([-3.0, 2.0]), type("Rule", (), {"kind": "score"})()),  # a dense score
])
def test_no_hint_where_the_reference_is_not_probability_shaped(reference, candidate, rule):
    assert probability_hint(reference, candidate, rule) is None


def test_an_unrelated_probability_shaped_reference_gets_the_plain_hint():
    assert probability_hint(np.array([0.9, 0.1]), np.array([-4.0, 3.0])) == HINT


def test_a_parity_failure_against_a_probability_reference_prints_the_hint():
    """assert_backends_agree's message carries the hint when the reference gives softmax of the graph's logits."""
    from fakes import FixedLogitsBackend

    from pytest_drlreward.checks import ParityError, assert_backends_agree

    logits = np.array([[2.0, -1.0], [-3.0, 0.5], [0.2, 4.0]], np.float32)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    images = np.zeros((3, 4, 4, 3), np.uint8)
    with pytest.raises(ParityError, match="hint: the reference returns probabilities.*softmax"):
        assert_backends_agree(FixedLogitsBackend("jax", probabilities.astype("float32")), FixedLogitsBackend("onnxruntime", logits), images)
    with pytest.raises(ParityError) as other:  # a plain gap between logits gets no such hint
        assert_backends_agree(FixedLogitsBackend("jax", logits + 1.0), FixedLogitsBackend("onnxruntime", logits), images)
    assert "hint" not in str(other.value)
