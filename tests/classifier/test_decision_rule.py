"""The one decision rule and format-2 metadata: every rule's probability and decision, and every bad
metadata case as one ModelDirError naming the file, the field and the value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from repo_paths import SHIPPED_MODEL, TINY_MODEL

from pytest_drlreward.classifier import METADATA_FILE, ModelDirError, open_model_dir
from pytest_drlreward.classifier.decision import DecisionError, DecisionRule, rule_of

DOWNSTREAM_TINY = TINY_MODEL  # a format-1 directory


def _sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))


def test_argmax_is_todays_rule_with_the_softmax_probability():
    rule = DecisionRule("argmax", goal_index=1, n_outputs=3)
    logits = np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0], [0.0, 1.0, 1.5]])
    np.testing.assert_array_equal(rule.predict_goal(logits), [True, False, False])
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(rule.goal_probability(logits), softmax[:, 1])
    assert str(rule) == "argmax == 1"


@pytest.mark.parametrize("shape", [(5,), (5, 1)])
def test_sigmoid_takes_one_logit_and_its_probability_is_the_true_sigmoid(shape):
    rule = DecisionRule("sigmoid", threshold=0.85, n_outputs=1)
    logits = np.array([-30.0, 0.0, 1.7, 1.8, 40.0]).reshape(shape)
    np.testing.assert_allclose(rule.goal_probability(logits), _sigmoid(logits.reshape(-1)))
    np.testing.assert_array_equal(rule.predict_goal(logits), [False, False, False, True, True])  # logit(0.85)=1.73
    assert str(rule) == "sigmoid > 0.85"


def test_softmax_needs_the_goal_class_above_a_confidence_bar():
    rule = DecisionRule("softmax", goal_index=2, threshold=0.6, n_outputs=3)
    logits = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 3.0], [5.0, 0.0, 4.0]])
    np.testing.assert_array_equal(rule.predict_goal(logits), [False, True, False])  # argmax would say goal in row 0
    assert str(rule) == "softmax[2] > 0.6"


def test_a_score_is_its_own_value_and_decides_only_with_a_threshold():
    dense = DecisionRule("score", n_outputs=1)
    np.testing.assert_array_equal(dense.goal_probability(np.array([-2.0, 0.5])), [-2.0, 0.5])
    assert not dense.decides and str(dense) == "score (dense)"
    with pytest.raises(DecisionError, match="makes no goal decision"):
        dense.predict_goal(np.array([1.0]))
    gated = DecisionRule("score", threshold=0.25, n_outputs=1)
    np.testing.assert_array_equal(gated.predict_goal(np.array([[0.2], [0.3]])), [False, True])


F32_0_7 = float(np.float32(0.7))  # 0.699999988...: a threshold a float32 output can equal exactly


@pytest.mark.parametrize("kind, at, threshold, step", [
    ("sigmoid", 0.0, 0.5, 1e-6),  # sigmoid(0) is exactly 0.5
    ("score", 0.25, 0.25, 1e-6),
    ("score", 0.7, F32_0_7, 1e-6),  # the float32 output 0.7 is exactly the float32 threshold
    ("score", -1.5, -1.5, 1e-6),
])
def test_a_value_exactly_at_the_threshold_is_not_goal_and_just_above_it_is(kind, at, threshold, step):
    """The rule is ``>``, not ``>=``: float32 outputs just below, exactly at and just above the threshold."""
    rule = DecisionRule(kind, threshold=threshold, n_outputs=1)
    outputs = np.array([at - step, at, at + step], dtype=np.float32)
    assert float(rule.goal_probability(outputs[1:2])[0]) == threshold  # exactly at it, in float64 too
    expected = [False, False, True]
    np.testing.assert_array_equal(rule.predict_goal(outputs), expected)
    np.testing.assert_array_equal(rule.decide(outputs)[0], expected)  # the env's judge and the checks
    np.testing.assert_array_equal(rule.predict_goal(outputs[:, None]), expected)


def test_softmax_exactly_at_its_threshold_is_not_goal():
    rule = DecisionRule("softmax", goal_index=1, threshold=0.5, n_outputs=2)
    logits = np.array([[0.0, -1e-6], [0.0, 0.0], [0.0, 1e-6]], dtype=np.float32)  # softmax 0.5 exactly in the middle
    np.testing.assert_array_equal(rule.predict_goal(logits), [False, False, True])
    np.testing.assert_array_equal(rule.decide(logits)[0], [False, False, True])


def test_outputs_that_do_not_fit_the_rule_are_named():
    with pytest.raises(DecisionError, match=r"needs outputs of shape \(N,\) or \(N, 1\), got \(4, 2\)"):
        DecisionRule("sigmoid", threshold=0.5, n_outputs=1).predict_goal(np.zeros((4, 2)))


def test_objects_without_a_rule_decide_by_argmax_over_their_goal_index():
    class Fake:
        goal_index = 0

    assert str(rule_of(Fake())) == "argmax == 0"


def test_a_format_1_directory_reads_as_the_same_format_2_object():
    directory = open_model_dir(DOWNSTREAM_TINY)
    assert json.loads((DOWNSTREAM_TINY / METADATA_FILE).read_text())["format_version"] == 1
    assert directory.metadata["format_version"] == 2 and directory.metadata["converted_from_format"] == 1
    assert str(directory.decision) == "argmax == 1" and directory.image_shape == (16, 16, 3)
    assert directory.inputs[0].name == "images" and directory.has_torch_factory


def test_the_shipped_classifier_is_format_2_and_its_int8_model_still_matches():
    from pytest_drlreward.classifier.int8 import open_int8_model

    directory = open_model_dir(SHIPPED_MODEL)
    assert json.loads((SHIPPED_MODEL / METADATA_FILE).read_text())["format_version"] == 2
    assert str(directory.decision) == "argmax == 1"
    assert open_int8_model(True, directory).name == "classifier_int8.xml"


def _edited(tmp_path: Path, edit) -> Path:
    model = Path(shutil.copytree(SHIPPED_MODEL, tmp_path / "classifier"))
    metadata = json.loads((model / METADATA_FILE).read_text())
    edit(metadata)
    (model / METADATA_FILE).write_text(json.dumps(metadata))
    return model


BAD_METADATA = [
    (lambda m: m["decision"].update(goal_index=2), r"decision.goal_index 2 is not a column of the output"),
    (lambda m: m.update(decision={"kind": "sigmoid", "threshold": 0.5}), r"decision.kind 'sigmoid' needs one value per row"),
    (lambda m: m.update(decision={"kind": "softmax", "goal_index": 1, "threshold": 1.5}),
     r"decision.threshold 1.5 must be a number in \(0, 1\)"),
    (lambda m: m.update(decision={"kind": "max"}), r"decision.kind 'max' is not one of"),
    (lambda m: m["inputs"][0].update(dtype="float64"), r"inputs\[0\].dtype 'float64' is not one of uint8, float32"),
    (lambda m: m["inputs"][0].update(layout="NHW"), r"inputs\[0\].layout 'NHW' must name each of the 4 axes"),
    (lambda m: m["inputs"][0].update(shape=[1, 48, 48, 3]), r"inputs\[0\].shape must be \[null, ...\]"),
    (lambda m: m.update(inputs=[]), r"inputs is empty"),
    (lambda m: m.update(torch_factory=7), r"torch_factory must be 'package.module:function'"),
    (lambda m: m.update(classes=["a", "b", "c"]), r"classes \['a', 'b', 'c'\] must name the 2 output columns"),
    (lambda m: m.update(format_version=3), r"format_version 3 is not supported \(expected 1 or 2\)"),
]


@pytest.mark.parametrize("edit, message", BAD_METADATA)
def test_bad_metadata_is_one_error_naming_file_field_and_value(tmp_path, edit, message):
    model = _edited(tmp_path, edit)
    with pytest.raises(ModelDirError, match=message) as caught:
        open_model_dir(model)
    assert str(model / METADATA_FILE) in str(caught.value)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["inputs"][0].update(name="pixels"), None),  # one input: fed by position, its name is free
    (lambda m: m["inputs"][0].update(dtype="float32"), r"inputs\[0\].dtype 'float32' of input 'images': the ONNX graph takes uint8"),
    (lambda m: m.update(inputs=[m["inputs"][0], {**m["inputs"][0], "name": "wrist"}]),
     r"inputs\[1\].name 'wrist' is not an input of the ONNX graph classifier.onnx, which takes \['images'\]"),
])
def test_inputs_the_onnx_graph_does_not_take_are_refused_at_start(tmp_path, edit, message):
    from pytest_drlreward.plugin.preflight import check_model_dir

    model = _edited(tmp_path, edit)
    if message is None:
        check_model_dir(model)
        return
    with pytest.raises(ModelDirError, match=message):
        check_model_dir(model)


def test_an_onnx_only_directory_needs_no_classifier_pt(tmp_path):
    def onnx_only(m):
        del m["torch_factory"], m["files"]["classifier.pt"]

    model = _edited(tmp_path, onnx_only)
    (model / "classifier.pt").unlink()
    directory = open_model_dir(model)
    assert not directory.has_torch_factory
    with pytest.raises(ModelDirError, match="has no torch_factory"):
        directory.check_factory()


def test_score_fidelity_fails_a_score_that_does_not_follow_the_truth():
    from pytest_drlreward.checks import ScoreFidelityError, score_fidelity

    truth = np.linspace(-1, 1, 50)
    assert score_fidelity(truth * 0.9 + 0.01, truth, "model", "true_reward").correlation > 0.99
    with pytest.raises(ScoreFidelityError, match="correlation -1.000 of the score with 'true_reward' is below 0.5"):
        score_fidelity(-truth, truth, "model", "true_reward")
    with pytest.raises(ScoreFidelityError, match=r"mean \|score - true_reward\| 1 is above 0.1"):
        score_fidelity(truth + 1, truth, "model", "true_reward", max_mean_abs_error=0.1)
