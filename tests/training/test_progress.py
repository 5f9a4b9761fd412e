"""Progress of long commands: a bar on a terminal, a few lines in a log, and 'cap' under --until-solved."""

from __future__ import annotations

import io

from panda_env.training.bar import LogProgress, progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_line_per_quarter_and_no_carriage_returns():
    log = io.StringIO()
    bar = progress(400, "SAC, openvino reward", cap=True, file=log)
    assert isinstance(bar, LogProgress)
    for _ in range(250):
        bar.update(1)
    bar.close()  # stopped early: solved at 250 of the 400-step cap
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert [line.split(" (")[0] for line in lines] == ["SAC, openvino reward: 100/400 steps cap",
                                                       "SAC, openvino reward: 200/400 steps cap",
                                                       "SAC, openvino reward: 250/400 steps cap"]
    assert lines[-1].split(" (")[1].startswith("stopped)")


def test_a_terminal_gets_a_bar_that_says_cap_and_shows_no_eta_under_until_solved():
    terminal = _Terminal()
    with progress(8000, "SAC", cap=True, file=terminal) as bar:
        bar.update(700)
    text = terminal.getvalue()
    assert "700/8000 cap" in text and "<" not in text  # tqdm's ETA reads "elapsed<remaining"
    plain = _Terminal()
    with progress(8000, "SAC", file=plain) as bar:
        bar.update(700)
    assert "700/8000" in plain.getvalue() and "cap" not in plain.getvalue()


def test_the_learning_curve_draws_the_checks_the_stop_rule_reads_with_its_target(tmp_path, monkeypatch):
    from panda_env.training import plots, sac

    drawn = {}

    def fake_curve(curve, path, title="", **kwargs):
        drawn.update(kwargs, curve=curve)
        return path

    monkeypatch.setattr(plots, "learning_curve_png", fake_curve)
    monkeypatch.setattr(plots, "time_split_png", lambda rows, path, title="": path)
    checks = [{"step": 100, "success_rate": 0.25}, {"step": 200, "success_rate": 0.95}]
    report = sac.TrainingReport(backend="openvino", profile="fast", steps=200, seed=0, total_s=1, physics_s=0,
                                render_s=0, reward_s=0, learning_s=0, other_s=0, steps_per_s=200, reward_calls=200,
                                learning_curve=[{"step": 200, "success_rate": 0.24, "mean_return": 1, "episodes": 9}],
                                until_solved={"checks": checks, "target": 0.9, "episodes": 20})
    sac._write_pictures(report, tmp_path)
    assert drawn["checks"] == checks and drawn["target"] == 0.9 and drawn["check_episodes"] == 20
    assert drawn["curve"] == report.learning_curve  # the training episodes: the faint second series


def test_the_learning_curve_png_is_drawn_with_checks(tmp_path):
    from PIL import Image

    from panda_env.training.plots import learning_curve_png

    path = learning_curve_png([{"step": 100, "success_rate": 0.1}], tmp_path / "curve.png", "t",
                              checks=[{"step": 100, "success_rate": 0.3}], target=0.9, check_episodes=20)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width >= 300
