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
