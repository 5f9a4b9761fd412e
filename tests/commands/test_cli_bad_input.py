"""Bad input to the CLI is refused in one line before the work.

Split from the former test_reliability.py; each test fails without the fix it names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from panda_env.cli import main
from panda_env.training.capture import capture, save_capture


@pytest.fixture(scope="module")
def small_capture_dir(tmp_path_factory) -> Path:
    return save_capture(capture(8, seed=5), tmp_path_factory.mktemp("cap") / "capture")


def _broken_capture(source: Path, target: Path, fault: str) -> Path:
    import shutil

    shutil.copytree(source, target)
    if fault == "empty-images":
        np.save(target / "images.npy", np.zeros((0, 48, 48, 3), np.uint8))
    elif fault == "truncated-images":
        data = (target / "images.npy").read_bytes()
        (target / "images.npy").write_bytes(data[: len(data) // 2])
    elif fault == "labels-without-header":
        lines = (target / "labels.csv").read_text().splitlines()
        (target / "labels.csv").write_text("\n".join(lines[1:]) + "\n")
    elif fault == "label-7":
        lines = (target / "labels.csv").read_text().splitlines()
        cells = lines[1].split(",")
        cells[1] = "7"
        lines[1] = ",".join(cells)
        (target / "labels.csv").write_text("\n".join(lines) + "\n")
    elif fault == "bad-manifest":
        (target / "manifest.json").write_text("{not json")
    elif fault == "single-class":
        lines = (target / "labels.csv").read_text().splitlines()
        rows = [line.split(",") for line in lines[1:]]
        (target / "labels.csv").write_text("\n".join([lines[0]] + [",".join([r[0], "0", *r[2:]]) for r in rows]) + "\n")
    return target


@pytest.mark.parametrize(("fault", "named"), [
    ("empty-images", "images.npy (the images) must be uint8 (N, H, W, 3) with N >= 1"),
    ("truncated-images", "images.npy cannot be read"),
    ("labels-without-header", "labels.csv must start with the header"),
    ("label-7", "labels.csv: labels must be 0 (not goal) or 1 (goal); row 0 has 7"),
    ("bad-manifest", "manifest.json is not valid JSON"),
    ("single-class", "a classifier needs at least 2 of each class"),
])
def test_train_classifier_refuses_bad_captures_in_one_line(small_capture_dir, tmp_path, capsys, fault, named):
    data = _broken_capture(small_capture_dir, tmp_path / "cap", fault)
    assert main(["train-classifier", "--data", str(data), "--out", str(tmp_path / "model"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("args", [["bench", "--image-sizes", "0"], ["bench", "--image-sizes", ","],
                                  ["bench-env", "--steps", "0"]])
def test_cli_refuses_non_positive_sizes_and_counts(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2


@pytest.mark.parametrize(("args", "work"), [
    (["evaluate", "--agent", "AGENT", "--gif", "readonly/episode.gif"], "panda_env.training.evaluate.evaluate_policy_success"),
    (["capture", "--out", "readonly/capture", "--n", "4"], "panda_env.training.capture.capture"),
    (["bench", "--image-sizes", "48", "--json", "readonly/bench.json"], "panda_env.bench.step_profile.profile_steps"),
    (["compare", "--json", "readonly/compare.json", "--steps", "10"], "panda_env.bench.compare.compare_backends"),
], ids=["evaluate-gif", "capture", "bench-json", "compare-json"])
def test_unwritable_outputs_are_refused_before_the_work(tmp_path, monkeypatch, capsys, unwritable, earlier_run,
                                                         args, work):
    def refuse(*a, **k):
        raise AssertionError("the work started although its output cannot be written")

    monkeypatch.setattr(work, refuse)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "readonly").mkdir()
    args = [str(earlier_run / "agent.zip") if a == "AGENT" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in err and len(err.strip().splitlines()) == 1
    assert list((tmp_path / "readonly").iterdir()) == []
