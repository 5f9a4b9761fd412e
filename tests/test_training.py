"""SAC training, evaluation and the CLI's handling of user mistakes."""

from __future__ import annotations

import json

import pytest

from panda_env.cli import main
from panda_env.training.sac import train

REPORT_FIELDS = {"backend", "profile", "steps", "seed", "total_s", "physics_s", "render_s", "reward_s",
                 "learning_s", "other_s", "steps_per_s", "reward_calls", "evaluation", "agent_path"}


@pytest.mark.parametrize("backend", ["oracle", "torch", "onnxruntime", "openvino"])
def test_short_training_writes_a_complete_report(tmp_path, backend):
    report = train(backend, steps=300, seed=0, out_dir=tmp_path, eval_episodes=2)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert set(saved) == REPORT_FIELDS
    assert (tmp_path / "agent.zip").is_file()
    parts = [saved[k] for k in ("physics_s", "render_s", "reward_s", "learning_s", "other_s")]
    assert all(part >= 0 for part in parts), parts
    assert sum(parts) == pytest.approx(saved["total_s"], rel=0.05)
    # The timed parts are real: SAC learned, the arm moved, and only a classifier renders and infers.
    assert saved["learning_s"] > 0 and saved["physics_s"] > 0
    uses_classifier = backend != "oracle"
    assert (saved["reward_calls"] == 300) == uses_classifier
    assert (saved["render_s"] > 0) == uses_classifier
    assert saved["evaluation"]["episodes"] == 2
    assert report.steps == 300


def test_evaluate_cli_runs_a_saved_agent(tmp_path, capsys):
    train("oracle", steps=150, seed=0, out_dir=tmp_path, eval_episodes=0)
    gif = tmp_path / "episode.gif"
    assert main(["evaluate", "--agent", str(tmp_path / "agent.zip"), "--episodes", "2", "--gif", str(gif)]) == 0
    assert "true-goal success" in capsys.readouterr().out
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")


@pytest.mark.parametrize(("argv", "fragment"), [
    (["train", "--backend", "tensorrt"], "invalid choice"),
    (["train", "--steps", "0"], "must be a positive integer"),
    (["train", "--steps", "-5"], "must be a positive integer"),
    (["compare", "--backends", "torch,bogus"], "unknown backend"),
])
def test_cli_rejects_bad_arguments_without_traceback(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_cli_output_directory_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["train", "--backend", "oracle", "--steps", "10", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_cli_missing_agent_file(tmp_path, capsys):
    assert main(["evaluate", "--agent", str(tmp_path / "none.zip")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_agent_file_that_is_not_an_agent(tmp_path, capsys):
    bogus = tmp_path / "agent.zip"
    bogus.write_text("hello")
    assert main(["evaluate", "--agent", str(bogus)]) == 2
    assert "not a stable-baselines3" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sac_with_openvino_reward_learns_the_task(tmp_path, seed):
    """SAC (SB3 defaults) with the OpenVINO reward: >= 90% true-goal success over 50 deterministic episodes."""
    report = train("openvino", steps=8000, seed=seed, out_dir=tmp_path, eval_episodes=50)
    assert report.evaluation["success_rate"] >= 0.9, report.evaluation
