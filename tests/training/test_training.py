"""SAC training, evaluation and the CLI's handling of user mistakes."""

from __future__ import annotations

import json

import pytest
import torch
from stable_baselines3 import SAC

from panda_env.cli import main
from panda_env.training.profiles import FAST_N_ENVS, FAST_NET_ARCH, FAST_SAC
from panda_env.training.runs import make_env
from panda_env.training.sac import train
from panda_env.training.solved import SolvedRule

REPORT_FIELDS = {"backend", "profile", "steps", "seed", "total_s", "physics_s", "render_s", "reward_s",
                 "learning_s", "other_s", "steps_per_s", "reward_calls", "int8", "evaluation", "agent_path",
                 "learning_curve", "pictures", "until_solved", "interrupted", "audit", "goal_radius", "n_envs"}


@pytest.mark.parametrize(("backend", "int8"), [("oracle", False), ("torch", False), ("onnxruntime", False),
                                              ("openvino", False), ("openvino", True)])
def test_short_training_writes_a_complete_report(tmp_path, backend, int8):
    threads = torch.get_num_threads()
    report = train(backend, steps=320, seed=0, out_dir=tmp_path, eval_episodes=2, int8=int8)  # 40 rollouts of 8
    assert torch.get_num_threads() == threads  # the fast profile's single thread is given back
    saved = json.loads((tmp_path / "report.json").read_text())
    assert set(saved) == REPORT_FIELDS
    assert (tmp_path / "agent.zip").is_file()
    parts = [saved[k] for k in ("physics_s", "render_s", "reward_s", "learning_s", "other_s")]
    assert all(part >= 0 for part in parts), parts
    assert sum(parts) == pytest.approx(saved["total_s"], rel=0.05)
    # The timed parts are real: SAC learned, the arm moved, and only a classifier renders and infers.
    assert saved["learning_s"] > 0 and saved["physics_s"] > 0
    uses_classifier = backend != "oracle"
    # the fast profile steps FAST_N_ENVS envs together: one reward call classifies all their images
    assert saved["n_envs"] == FAST_N_ENVS
    assert (saved["reward_calls"] == 320 // FAST_N_ENVS) == uses_classifier
    assert (saved["render_s"] > 0) == uses_classifier
    assert saved["evaluation"]["episodes"] == 2
    assert report.steps == 320 and saved["int8"] == int8
    # the fast profile's SAC: its networks (two 64-unit layers for the actor and each critic), fused Adam
    # and its tuned settings, its gradient steps per transition kept with FAST_N_ENVS envs
    agent = SAC.load(tmp_path / "agent.zip")
    policy = agent.policy
    widths = {m.out_features for net in (policy.actor.latent_pi, policy.critic.qf0) for m in net
              if isinstance(m, torch.nn.Linear)}
    assert widths == {FAST_NET_ARCH[0], 1}
    assert policy.actor.optimizer.defaults["fused"] is True
    assert (agent.gamma, agent.tau, agent.gradient_steps, agent.buffer_size) == (
        FAST_SAC["gamma"], FAST_SAC["tau"], FAST_SAC["gradient_steps"] * FAST_N_ENVS, FAST_SAC["buffer_size"])


def test_int8_model_runs_in_the_env_only_on_openvino_in_the_fast_profile():
    env = make_env("openvino", int8=True)
    try:
        assert env.judge.backend.int8 and env.judge.backend.source.name == "classifier_int8.xml"
    finally:
        env.close()
    for backend, profile in (("torch", "fast"), ("openvino", "seed")):
        with pytest.raises(ValueError, match="INT8 model runs on the openvino backend in the fast profile"):
            make_env(backend, profile, int8=True)


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
    (["train", "--backend", "torch", "--int8", "--steps", "10"], "INT8 model runs on the openvino backend"),
    (["bench-env", "--backend", "oracle", "--int8"], "INT8 model runs on the openvino backend"),
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
def test_sac_with_openvino_reward_learns_the_task(tmp_path, seed, record_property):
    """SAC (fast profile) with the OpenVINO reward, trained until solved (8000 steps at most): the policy
    reaches >= 90% true-goal success over 50 fresh deterministic episodes."""
    report = train("openvino", steps=8000, seed=seed, out_dir=tmp_path, eval_episodes=50, until_solved=SolvedRule())
    solved = report.until_solved
    record_property("summary", f"SAC, openvino reward, seed {seed}: solved={solved['solved']} after "
                               f"{report.steps} steps, {report.total_s:.1f} s of training; confirmed true-goal "
                               f"success {report.evaluation['success_rate']:.0%} over 50 episodes (bar: 90%)")
    assert solved["solved"], solved["checks"]
    assert report.evaluation["success_rate"] >= 0.9, report.evaluation


# -- train until solved ----------------------------------------------------------------------------------
class _FakeEvaluation:
    """Success rates a fake evaluator returns, one per check, and how it was called."""

    def __init__(self, rates):
        self.rates, self.calls = list(rates), []

    def __call__(self, agent, episodes, seed, profile):
        from panda_env.training.evaluate import EvaluationResult

        self.calls.append((episodes, seed, profile))
        return EvaluationResult(episodes, self.rates.pop(0), 5.0)


def _run_checks(callback, steps):
    """Drive the callback as SB3's learn loop would: one _on_step per env step, until it says stop."""
    callback.model = None  # the fake evaluator ignores the agent
    for step in range(1, steps + 1):
        callback.num_timesteps = step
        if not callback._on_step():
            return step
    return None


def test_until_solved_stops_at_the_first_check_that_reaches_the_target():
    from panda_env.training.solved import CHECK_SEED, UntilSolved

    fake = _FakeEvaluation([0.5, 0.85, 0.9, 1.0])
    callback = UntilSolved(SolvedRule(target=0.9, every=100, episodes=20), evaluate=fake)
    assert _run_checks(callback, 1000) == 300
    assert callback.record.steps_to_solve == 300
    assert [c["step"] for c in callback.record.checks] == [100, 200, 300]
    assert fake.calls == [(20, CHECK_SEED, "fast")] * 3  # the same episodes at every check
    assert callback.record.check_s >= 0


def test_until_solved_runs_to_the_cap_when_never_solved():
    from panda_env.training.solved import UntilSolved

    callback = UntilSolved(SolvedRule(target=0.9, every=250, episodes=5), evaluate=_FakeEvaluation([0.1] * 4))
    assert _run_checks(callback, 1000) is None
    assert callback.record.steps_to_solve is None and len(callback.record.checks) == 4


@pytest.mark.parametrize("kwargs", [{"target": 0.0}, {"target": 1.5}, {"every": 0}, {"episodes": 2.5}])
def test_solved_rule_refuses_bad_values(kwargs):
    with pytest.raises(ValueError):
        SolvedRule(**kwargs)


def test_until_solved_report_fields(tmp_path, monkeypatch):
    """A real short run with a check that passes at once: report and report.json say what was solved, when."""
    from panda_env.training import solved as solved_module

    monkeypatch.setattr(solved_module, "evaluate_policy_success", _FakeEvaluation([1.0]))
    report = train("oracle", steps=2000, seed=0, out_dir=tmp_path, eval_episodes=2,
                   until_solved=SolvedRule(target=0.9, every=150, episodes=3))
    saved = json.loads((tmp_path / "report.json").read_text())["until_solved"]
    assert saved["solved"] is True and saved["steps_to_solve"] == 150 and report.steps == 150
    assert saved["train_s_to_solve"] == pytest.approx(report.total_s)
    assert {"target", "every", "episodes", "checks", "check_s"} <= set(saved)


def test_the_registry_name_openvino_int8_is_the_int8_flag(tmp_path, capsys):
    """``--backend openvino-int8`` (the plugin's name) trains on the INT8 model, as the older ``--int8`` does."""
    from panda_env.cli import build_parser, main
    from panda_env.commands.common import split_int8

    args = build_parser().parse_args(["train", "--backend", "openvino-int8"])
    split_int8(args)
    assert (args.backend, args.int8) == ("openvino", True)
    args = build_parser().parse_args(["bench-env", "--backend", "openvino", "--int8"])
    split_int8(args)
    assert (args.backend, args.int8) == ("openvino", True)
    out = tmp_path / "run"
    assert main(["train", "--backend", "openvino-int8", "--steps", "60", "--eval-episodes", "0", "--out", str(out)]) == 0
    assert "with the openvino INT8 reward" in capsys.readouterr().out
    assert json.loads((out / "report.json").read_text())["int8"] is True


def test_compare_runs_openvino_and_openvino_int8_side_by_side(tmp_path, capsys):
    """``compare --backends openvino,openvino-int8``: one row each, the INT8 runs on the INT8 model; ``--int8``
    (the older spelling) makes the openvino entry openvino-int8, and naming a backend twice is refused."""
    from panda_env.cli import main

    out = tmp_path / "compare.json"
    assert main(["compare", "--backends", "openvino,openvino-int8", "--runs", "1", "--steps", "40",
                 "--eval-episodes", "0", "--json", str(out), "--chart", str(tmp_path / "c.png")]) == 0
    result = json.loads(out.read_text())
    assert [row["backend"] for row in result["rows"]] == ["openvino", "openvino-int8"]
    assert [run["int8"] for run in result["runs"]["openvino"]] == [False]
    assert [(run["backend"], run["int8"]) for run in result["runs"]["openvino-int8"]] == [("openvino", True)]
    assert "run: openvino-int8 seed 0" in capsys.readouterr().out
    assert main(["compare", "--backends", "openvino,openvino-int8", "--int8"]) == 2
    assert "--backends names a backend twice: ['openvino-int8', 'openvino-int8']" in capsys.readouterr().err


def test_compare_refuses_an_int8_run_outside_the_fast_profile_before_any_training(monkeypatch, capsys):
    import panda_env.bench.compare as compare

    monkeypatch.setattr(compare, "train", lambda *a, **k: pytest.fail("compare trained before checking its backends"))
    assert main(["compare", "--backends", "torch,openvino-int8", "--profile", "original", "--chart", "none.png"]) == 2
    assert "the INT8 model runs on the openvino backend in the fast profile" in capsys.readouterr().err


def test_the_original_profile_warms_its_reward_up_on_the_camera_image_it_renders():
    """Both profiles' envs do their reward's first-call work when made, so neither side of solve-time's ratio
    pays it inside its timed steps; the demo's warm-up image is the demo camera's."""
    from panda_env.reward.seed_replica import SEED_IMAGE_SHAPE
    from panda_env.training.profiles import SEED_RESOLUTION, scene_config

    assert SEED_IMAGE_SHAPE == (SEED_RESOLUTION[1], SEED_RESOLUTION[0], 3) == scene_config("original").image_shape
    env = make_env("torch", "original")
    try:
        calls = []
        backend = env.judge.backend
        original = backend.logits
        backend.logits = lambda images: calls.append(images.shape) or original(images)
        env.judge.warm_up(1)
        assert calls == [(1, *SEED_IMAGE_SHAPE)] and env.reward_timer.calls == 0
    finally:
        env.close()
