"""Decision parity (reward flips on the same images) and accuracy on labelled images (thresholds, budgets,
bool labels, wrong images named by their position)."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import ColourRule, FixedLogitsBackend, line_env

from pytest_drlreward.checks import (
    AccuracyError,
    DecisionParityError,
    assert_decisions_agree,
    assert_labelled_accuracy,
    collect_rollout,
)

IMAGES = np.zeros((100, 1, 1, 3), np.uint8)


class Fixed(FixedLogitsBackend):
    goal_index = 1


def _logits(goals: np.ndarray) -> np.ndarray:
    return np.where(goals[:, None], [[0.0, 2.0]], [[2.0, 0.0]])


def test_flips_are_counted_and_fail_beyond_the_allowed_rate():
    ref = _logits(np.arange(100) % 2 == 0)
    cand = ref + 0.5
    cand[[3, 50, 97]] = cand[[3, 50, 97]][:, ::-1]
    report = assert_decisions_agree(Fixed("torch", ref), Fixed("int8", cand), IMAGES, max_flip_rate=0.03)
    assert report.flips.successes == 3 and report.flips.trials == 100 and report.max_logit_diff == pytest.approx(2.5)
    assert str(report) == "int8 vs torch on 100 images: 3 reward flips (allowed 3% of images), max |logit diff| 2.5"
    with pytest.raises(DecisionParityError, match=r"3 reward flips \(none allowed\)(.|\n)*image 3: torch says no goal") as excinfo:
        assert_decisions_agree(Fixed("torch", ref), Fixed("int8", cand), IMAGES)
    assert excinfo.value.report.flips.successes == 3


def test_flips_on_a_rollout_are_named_by_step_and_seed():
    rollout = collect_rollout(line_env.LineEnv(), 300, seed=0, truth_key="true_goal")
    report = assert_decisions_agree(ColourRule(), ColourRule(0.01, "colour rule copy"), rollout)
    assert report.source == "env images" and report.flips.successes == 0
    with pytest.raises(DecisionParityError, match=r"step \d+ \(seed \d+, step \d+ of its episode\): colour rule says"):
        assert_decisions_agree(ColourRule(), ColourRule(1.0, "shifted"), rollout)


# --------------------------------------------------------------------------- labelled accuracy


def _labelled(n: int, wrong: list[int]) -> tuple[Fixed, np.ndarray]:
    labels = np.arange(n) % 3 == 0
    predicted = labels.copy()
    predicted[wrong] = ~predicted[wrong]
    return Fixed("cand", _logits(predicted)), labels


def test_accuracy_threshold_with_count_interval_and_positions_in_the_file():
    backend, labels = _labelled(200, [5, 130, 199])  # beyond any 64-image chunk
    report = assert_labelled_accuracy(backend, np.zeros((200, 1, 1, 3), np.uint8), labels, min_accuracy=0.985)
    assert report.correct.successes == 197 and report.wrong == (5, 130, 199)
    with pytest.raises(AccuracyError) as excinfo:
        assert_labelled_accuracy(backend, np.zeros((200, 1, 1, 3), np.uint8), labels, min_accuracy=0.99)
    message = str(excinfo.value)
    assert "misclassified 3/200 labelled images: accuracy 0.985 [0.957, 0.995] (197/200) < 0.99" in message
    assert "image 130: predicted True, label False" in message and "image 199:" in message


@pytest.mark.parametrize("labels", [np.array([1, 0, 1, 1]), np.array([True, False, True, True])], ids=["int", "bool"])
def test_labels_may_be_class_indices_or_goal_flags(labels):
    backend = Fixed("cand", _logits(np.array([True, False, True, False])))
    with pytest.raises(AccuracyError, match=r"image 3: predicted (0|False), label (1|True)"):
        assert_labelled_accuracy(backend, np.zeros((4, 1, 1, 3), np.uint8), labels)
    assert assert_labelled_accuracy(backend, np.zeros((4, 1, 1, 3), np.uint8), labels, min_accuracy=0.75).passed


def test_bool_labels_follow_the_goal_index():
    class GoalFirst(Fixed):
        goal_index = 0

    backend = GoalFirst("cand", np.array([[3.0, 0.0], [0.0, 3.0]]))  # image 0 is a goal for this classifier
    assert assert_labelled_accuracy(backend, np.zeros((2, 1, 1, 3), np.uint8), np.array([True, False])).passed


def test_bad_labels_are_refused():
    backend = Fixed("cand", _logits(np.array([True, False])))
    with pytest.raises(ValueError, match="label 2 of image 1 is not a class index"):
        assert_labelled_accuracy(backend, np.zeros((2, 1, 1, 3), np.uint8), np.array([0, 2]))
    with pytest.raises(ValueError, match="bool .* or integer"):
        assert_labelled_accuracy(backend, np.zeros((2, 1, 1, 3), np.uint8), np.array([0.0, 1.0]))


def test_an_accuracy_budget_against_the_reference():
    reference, labels = _labelled(100, [7])  # 99/100
    reference.name = "torch"
    quantized, _ = _labelled(100, [7, 8, 9])  # 97/100: loses 2 points
    images = np.zeros((100, 1, 1, 3), np.uint8)
    report = assert_labelled_accuracy(quantized, images, labels, reference=reference, max_drop=0.02)
    assert report.rule == "required >= torch's 99/100 minus 0.02 = 0.97"
    with pytest.raises(AccuracyError, match=r"accuracy 0.970 .* < 0.98"):
        assert_labelled_accuracy(quantized, images, labels, reference=reference, max_drop=0.01)


# --------------------------------------------------------------------------- issue 27: words and replay cases


class _Indexed:
    """Logits looked up by each row's index, held in its first value: the same logits in any batch."""

    goal_index = 1

    def __init__(self, name, table, decision=None):
        self.name, self.table = name, table
        if decision is not None:
            self.decision = decision

    def logits(self, inputs):
        rows = inputs["state"][:, 0] if isinstance(inputs, dict) else inputs.reshape(len(inputs), -1)[:, 0]
        return self.table[np.asarray(rows).astype(int)]


def test_decisions_on_inputs_that_are_not_images_name_the_rule_and_batch_rows():
    from pytest_drlreward.classifier.decision import DecisionRule

    sigmoid = DecisionRule("sigmoid", threshold=0.7, n_outputs=1)
    inputs = {"state": np.arange(10, dtype=np.float32)[:, None], "goal": np.zeros((10, 2), np.float32)}
    table = np.full((10, 1), 3.0)
    report = assert_decisions_agree(_Indexed("torch", table, sigmoid), _Indexed("c", table, sigmoid), inputs,
                                    max_flip_rate=0.1)
    assert str(report) == "c vs torch on 10 inputs: 0 reward flips (sigmoid > 0.7) (allowed 10% of inputs), max |logit diff| 0"
    flipped = table.copy()
    flipped[[4, 7]] = -3.0
    with pytest.raises(DecisionParityError) as excinfo:
        assert_decisions_agree(_Indexed("torch", table, sigmoid), _Indexed("c", flipped, sigmoid), inputs)
    assert "batch row 4: torch says goal (p=0.953), c says no goal (p=0.047)" in str(excinfo.value)
    assert "image" not in str(excinfo.value)


def test_a_flip_on_a_rollout_is_saved_with_its_seed_and_replays_the_same(tmp_path):
    from pytest_drlreward.checks.decisions import replay_lines
    from pytest_drlreward.replay import load_case, save_case

    rollout = collect_rollout(line_env.LineEnv(), 300, seed=0, truth_key="true_goal")
    with pytest.raises(DecisionParityError) as excinfo:
        assert_decisions_agree(ColourRule(), ColourRule(1.0, "shifted"), rollout, batch_size=128)
    case = excinfo.value.replay
    first_flip = str(excinfo.value).split("largest flips first:\n")[1].splitlines()[0].strip()
    row = int(first_flip.split()[1])  # "step 37 (seed ..."
    assert case.settings["first_row"] == (row // 128) * 128 and case.settings["where"][row % 128].startswith(f"step {row} ")
    assert any(r["row"] == row and r["reset_seed"] == int(rollout.episode_seeds[row]) for r in case.trail["rows"])
    path = save_case(case, tmp_path / "flip")
    assert path.with_suffix(".json").is_file()  # the seeds, readable without numpy
    lines = replay_lines(load_case(path), ColourRule(), ColourRule(1.0, "shifted"))
    assert lines[1].strip() == first_flip


def test_a_labelled_miss_is_saved_and_replays_the_same_row(tmp_path):
    from pytest_drlreward.checks.accuracy import replay_lines
    from pytest_drlreward.replay import load_case, save_case

    labels = np.arange(200) % 3 == 0
    predicted = labels.copy()
    predicted[[130, 199]] = ~predicted[[130, 199]]
    backend = _Indexed("cand", _logits(predicted))
    inputs = np.arange(200, dtype=np.float32)[:, None]
    with pytest.raises(AccuracyError) as excinfo:
        assert_labelled_accuracy(backend, inputs, labels, batch_size=64)
    message = str(excinfo.value)
    assert "misclassified 2/200 labelled inputs" in message and "batch row 130: predicted True, label False" in message
    case = load_case(save_case(excinfo.value.replay, tmp_path / "miss"))
    assert case.settings["first_row"] == 128 and len(case.labels) == 64
    lines = replay_lines(case, backend)
    assert "    batch row 130: predicted True, label False (goal probability 0.881)" in lines
