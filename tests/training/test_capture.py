"""Data capture: the on-disk layout, labels from the simulator, and output-path checks."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from panda_env.cli import main
from panda_env.envs import task
from panda_env.training.capture import capture, load_capture, save_capture


@pytest.fixture(scope="module")
def small_capture():
    return capture(16, seed=5)


def test_capture_is_balanced_and_labelled_by_the_simulator(small_capture):
    data = small_capture
    assert data.images.dtype == np.uint8 and data.images.shape == (16, task.IMAGE_SIZE, task.IMAGE_SIZE, 3)
    assert np.array_equal(data.labels, (data.distances < task.GOAL_RADIUS).astype(int))
    assert data.manifest["counts"] == {"goal": 8, "not_goal": 8}
    # A quarter are hard negatives between one and two goal radii.
    hard = (data.distances >= task.GOAL_RADIUS) & (data.distances < 2 * task.GOAL_RADIUS)
    assert hard.sum() >= 4


def test_capture_directory_round_trips(small_capture, tmp_path):
    out = save_capture(small_capture, tmp_path / "cap")
    assert sorted(p.name for p in out.iterdir()) == ["images.npy", "labels.csv", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("n", "counts", "seed", "image_size", "render_quality", "goal_radius", "sampling"):
        assert key in manifest
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert [int(r["label"]) for r in rows] == small_capture.labels.tolist()
    again = load_capture(out)
    assert np.array_equal(again.images, small_capture.images)
    assert np.array_equal(again.labels, small_capture.labels)


def test_save_refuses_a_non_empty_directory_and_leaves_it_alone(small_capture, tmp_path):
    target = tmp_path / "cap"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        save_capture(small_capture, target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["cap"]  # no temporary directory left behind


def test_cli_capture_checks_the_output_before_rendering(tmp_path, capsys, monkeypatch):
    target = tmp_path / "file"
    target.write_text("x")
    import panda_env.training.capture as capture_module

    monkeypatch.setattr(capture_module, "capture", lambda *a, **k: pytest.fail("captured before checking --out"))
    assert main(["capture", "--out", str(target), "--n", "4"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_cli_train_classifier_checks_the_output_before_training(tmp_path, capsys):
    out = tmp_path / "model"
    out.mkdir()
    (out / "x").write_text("x")
    assert main(["train-classifier", "--data", str(tmp_path / "no-data"), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_train_classifier_names_a_missing_capture(tmp_path, capsys):
    assert main(["train-classifier", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2
    assert "not a capture directory" in capsys.readouterr().err
