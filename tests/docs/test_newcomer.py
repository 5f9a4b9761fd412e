"""What a new user meets: a quiet train with its pictures, and help for every option of every command."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from PIL import Image

from panda_env.cli import build_parser


def test_train_prints_a_few_lines_and_writes_its_pictures(tmp_path):
    """The main job's output stays short (progress bar, a few table rows, the report) and its pictures exist."""
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "panda_env", "train", "--steps", "600", "--eval-episodes", "3",
                             "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) < 30, "\n".join(lines)
    text = "\n".join(lines)
    for noise in ("pybullet build time", "Using cpu device", "Wrapping the env", "Traceback"):
        assert noise not in text
    assert "true-goal success" in text and "wrote" in text
    assert sum(line.strip().startswith(("120 ", "240 ", "360 ", "480 ", "600 ")) for line in lines) == 5  # table rows
    for name in ("learning_curve.png", "time_split.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width >= 300
    with Image.open(out / "episode.gif") as gif:
        assert gif.format == "GIF" and gif.size[0] >= 300 and gif.n_frames >= 4


def _every_option():
    parser = build_parser()
    yield "panda_env", parser
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    yield from sub.choices.items()


@pytest.mark.parametrize(("name", "parser"), list(_every_option()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_option_has_help_and_shows_its_default(name, parser):
    assert "``" not in parser.format_help(), f"{name}: reST markup in --help"
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        assert action.help, f"{name} {action.option_strings}: no help text"
        if not action.required:
            assert "%(default)" in formatter._get_help_string(action), f"{name} {action.option_strings}: no default"


def test_solve_time_takes_seed_zero_and_refuses_negative_seeds():
    parser = build_parser()
    assert parser.parse_args(["solve-time", "--seeds", "0,1,2"]).seeds == (0, 1, 2)
    with pytest.raises(SystemExit):
        parser.parse_args(["solve-time", "--seeds", "-1"])


def test_help_shows_no_default_for_required_options_and_lists_as_typed():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "(default: None)" not in sub.choices["capture"].format_help().split("--out OUT", 2)[2].split("--n N")[0]
    assert "(default: 0,1,2)" in sub.choices["solve-time"].format_help()
    assert "(0, 1, 2)" not in sub.choices["solve-time"].format_help()


def test_the_demos_profile_is_called_original_and_seed_still_names_it():
    from panda_env.training.profiles import check_profile, sac_options

    assert check_profile("original") == check_profile("seed") == "original"
    assert sac_options("seed") == sac_options("original") == {}  # SB3's defaults, as the demo
    assert build_parser().parse_args(["train", "--profile", "seed"]).profile == "seed"
    with pytest.raises(ValueError, match="allowed values: fast, original, seed"):
        check_profile("demo")


def test_evaluate_refuses_to_overwrite_a_gif_without_overwrite(tmp_path, capsys):
    from panda_env.cli import main

    gif = tmp_path / "episode.gif"
    gif.write_bytes(b"GIF89a earlier")
    assert main(["evaluate", "--agent", str(tmp_path / "none.zip"), "--gif", str(gif)]) == 2
    assert f"{gif} exists; give --overwrite to replace it" in capsys.readouterr().err
    assert gif.read_bytes() == b"GIF89a earlier"


def test_path_errors_say_what_the_path_is(tmp_path, capsys):
    from panda_env.cli import main

    (tmp_path / "README.md").write_text("a file")
    (tmp_path / "runs").mkdir()
    assert main(["evaluate-classifier", "--data", str(tmp_path / "README.md"), "--backend", "onnxruntime"]) == 2
    assert "README.md is a file, not a capture directory" in capsys.readouterr().err
    assert main(["evaluate", "--agent", str(tmp_path / "runs")]) == 2
    assert f"agent file {tmp_path / 'runs'} is a directory; give the agent inside it" in capsys.readouterr().err


def test_using_the_env_from_python_prints_no_pybullet_banner():
    """The env imports PyBullet (quietly) when it is built; ``import panda_env`` alone does not import it."""
    code = ("import sys, gymnasium as gym, panda_env\n"
            "assert 'pybullet' not in sys.modules\n"
            "env = gym.make('PandaHover-v0'); env.reset(seed=0); env.close(); print('used')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "used", result.stderr
    assert "pybullet build time" not in result.stderr, result.stderr


def test_export_drops_only_the_torchvision_notices_of_torch_onnx(caplog):
    import logging

    from pytest_drlreward.classifier.quiet import REGISTRATION_LOGGER, quiet_onnx_export

    logger = logging.getLogger(REGISTRATION_LOGGER)
    with caplog.at_level(logging.WARNING, logger=REGISTRATION_LOGGER), quiet_onnx_export():
        logger.warning("torchvision is not installed. Skipping %s", "torchvision::nms")
        logger.warning("another exporter warning")
    assert [r.getMessage() for r in caplog.records] == ["another exporter warning"]


def test_a_log_of_bench_gets_a_line_for_each_of_its_five_parts():
    # a newcomer's log read "2/5 = 25%" with no line for the first part
    import io

    from panda_env.training.bar import progress

    log = io.StringIO()
    bar = progress(5, "bench", unit="part", file=log)
    for _ in range(5):
        bar.update(1)
    bar.close()
    heads = [line.split(" after")[0] for line in log.getvalue().splitlines()]
    assert heads == [f"bench: {n}/5 parts ({20 * n}%)" for n in range(1, 6)]
    long = io.StringIO()
    with progress(1000, "SAC", file=long) as bar:
        bar.update(300)  # one update past a quarter: one line, with the share really done
        bar.update(700)
    assert [line.split(" after")[0] for line in long.getvalue().splitlines()] == ["SAC: 300/1000 steps (30%)",
                                                                                 "SAC: 1000/1000 steps (100%)"]


def _fake_train(backend, steps, seed, profile="fast", eval_episodes=50, **kwargs):
    from panda_env.training.sac import TrainingReport

    report = TrainingReport(backend=backend, profile=profile, steps=steps, seed=seed, total_s=2.0, physics_s=0,
                            render_s=0, reward_s=1.0, learning_s=0, other_s=0, steps_per_s=0, reward_calls=0)
    if eval_episodes:
        report.evaluation = {"success_rate": 0.9}
    return report


def test_compare_without_evaluation_says_so_instead_of_nan(monkeypatch, capsys, tmp_path):
    from panda_env.bench import compare as module
    from panda_env.cli import main

    monkeypatch.setattr(module, "train", _fake_train)
    monkeypatch.setattr(module, "reward_call_samples", lambda *a, **k: {})
    rows = module.compare_backends(["torch", "openvino"], runs=1, steps=10, eval_episodes=0)["rows"]
    assert [row["success_rate"] for row in rows] == [None, None]
    assert module.compare_backends(["torch"], runs=2, steps=10)["rows"][0]["success_rate"] == pytest.approx(0.9)
    chart = tmp_path / "compare.png"
    assert main(["compare", "--runs", "1", "--steps", "10", "--eval-episodes", "0", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "not evaluated" in out


def test_compare_shows_progress_while_it_times_the_reward_calls_after_its_runs(monkeypatch, capsys):
    from panda_env.bench import compare as module

    class FakeEnv:
        def __init__(self):
            from panda_env.envs.goal import CallTimer

            self.reward_timer = CallTimer()

        def reset(self, seed=None):
            return None, {}

        def step(self, action):
            self.reward_timer.add(0.001)
            return None, 0.0, False, False, {}

        def close(self):
            pass

    monkeypatch.setattr("panda_env.training.runs.make_env", lambda *a, **k: FakeEnv())
    module.reward_call_samples(["torch", "openvino"], "fast", steps=5, rounds=3, progress_bar=True)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"timing each reward call in a step loop: {n}/6 rounds"
                                                       for n in range(1, 7)]


def test_help_offers_openvino_int8_only_where_the_command_takes_it():
    # demo --help offered openvino-int8, which demo refused
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest == "backend" and action.choices:
                offered = "openvino-int8" in command.format_help()
                assert offered == ("openvino-int8" in action.choices), name


def test_the_readmes_install_table_has_every_size_and_its_timings_name_a_machine():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = text[text.index("| extra | what it brings |"):]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")][:7]
    assert len(rows) == 7 and all(line.split("|")[3].strip() for line in rows), "a blank size cell"
    for claim in ("Training then takes about 7 s on a quiet", "the default suite: a few minutes on a quiet"):
        sentence = text[text.index(claim):text.index(".", text.index(claim) + len(claim))]
        assert "2-core" in sentence and "loaded" in sentence, sentence


def test_the_results_page_says_its_opening_once_and_names_no_internal_issue():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "results.md").read_text()
    assert not re.search(r"\bissue \d+|#\d+\b", text, flags=re.I)
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip() and not p.lstrip().startswith("|")]
    openings = [p[:60] for p in paragraphs]
    assert len(openings) == len(set(openings)), "a paragraph opens twice"
