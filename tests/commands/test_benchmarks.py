"""The benchmark commands report what they measure (never a time asserted: only shape and consistency)."""

from __future__ import annotations

import re

import pytest

from panda_env.bench import step_profile
from panda_env.bench.step_profile import profile_steps
from panda_env.cli import main
from panda_env.envs.task import IMAGE_SIZE


def test_step_profile_measures_every_part_and_the_int8_model():
    result = profile_steps(image_sizes=(IMAGE_SIZE,), qualities=("fast",), rounds=3, include_seed=False)
    (row,) = result["rows"]
    assert row["image_size"] == IMAGE_SIZE and row["render_quality"] == "fast"
    for name in ("torch", "onnxruntime", "openvino", "openvino-int8"):  # the shipped model has int8/
        assert row[f"reward_{name}_ms"] > 0 and 0 < row[f"reward_{name}_share"] < 1
    assert all(row[k] > 0 for k in ("move_ms", "render_ms", "sac_learning_ms"))


def test_step_total_and_reward_share_on_known_part_costs(monkeypatch):
    """Parts of 1, 2, 3 (reward) and 4 ms make a 10 ms step with a 30% reward share."""
    monkeypatch.setattr(step_profile, "sac_learning_step_ms", lambda *a, **k: 4.0)
    monkeypatch.setattr(step_profile, "_scene_costs", lambda *a, **k: {"move_ms": 1.0, "render_ms": 2.0, "image": None})
    monkeypatch.setattr(step_profile, "_model_dir_for", lambda *a, **k: None)
    monkeypatch.setattr(step_profile, "_reward_costs", lambda *a, **k: {"reward_openvino_ms": 3.0})
    (row,) = profile_steps(image_sizes=(IMAGE_SIZE,), qualities=("fast",), include_seed=False)["rows"]
    assert row["step_openvino_ms"] == pytest.approx(10.0)
    assert row["reward_openvino_share"] == pytest.approx(0.3)


def test_step_profile_predicts_the_saving_against_torch_on_known_costs(monkeypatch):
    """Torch 6 ms of a 13 ms step, OpenVINO 2 ms: 3x faster, predicted saving 6/13 x 2/3 = 4/13 of the step."""
    monkeypatch.setattr(step_profile, "sac_learning_step_ms", lambda *a, **k: 4.0)
    monkeypatch.setattr(step_profile, "_scene_costs", lambda *a, **k: {"move_ms": 1.0, "render_ms": 2.0, "image": None})
    monkeypatch.setattr(step_profile, "_model_dir_for", lambda *a, **k: None)
    monkeypatch.setattr(step_profile, "_reward_costs",
                        lambda *a, **k: {"reward_torch_ms": 6.0, "reward_openvino_ms": 2.0})
    (row,) = profile_steps(image_sizes=(IMAGE_SIZE,), qualities=("fast",), include_seed=False)["rows"]
    assert row["speedup_openvino"] == pytest.approx(3.0)
    assert row["predicted_saving_openvino"] == pytest.approx(4 / 13)
    assert row["predicted_saving_torch"] == pytest.approx(0.0)


def test_bench_backends_prints_the_machine_every_backend_and_the_batching_gain(capsys):
    assert main(["bench-backends", "--rounds", "5", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("machine: ") and "cores" in lines[0] and "SIMD:" in lines[0]
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[2:] if not line.startswith("WARNING")]
    for name in ("torch", "onnxruntime", "openvino", "openvino-int8"):  # batch 1 and 8
        assert sorted(int(row[1]) for row in rows if row[0] == name) == [1, 8]
    assert all(row[3] == "-" for row in rows if row[1] == "1")  # the batching gain is a batch-8 figure
    assert all(row[3].endswith("x") and float(row[3][:-1]) > 0 for row in rows if row[1] == "8")
    assert [row[2] for row in rows if row[0] == "torch"] == ["1.00x", "1.00x"]
    # every other speed-up carries its spread: "2.94x (IQR 2.10-3.80x)"
    assert all(re.fullmatch(r"\d+\.\d\dx \(IQR \d+\.\d\d-\d+\.\d\dx\)", row[2]) for row in rows if row[0] != "torch")


def test_bench_backends_markdown_is_a_table(capsys):
    assert main(["bench-backends", "--rounds", "2", "--threads", "1", "--markdown"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines()[1:] if not line.startswith("WARNING")]
    assert lines[0].startswith("| backend | batch | speed-up vs torch") and lines[1].startswith("|---|")
    assert len(lines) == 2 + 8 and all(line.count("|") == 7 for line in lines)


@pytest.mark.parametrize(("share", "speedup", "saving"), [(0.2, 2.0, 0.1), (0.5, 4.0, 0.375), (0.3, 1.0, 0.0),
                                                          (0.1196, 100.0, 0.118404)])
def test_predicted_saving_is_amdahls_law(share, speedup, saving):
    from panda_env.bench.step_profile import predicted_saving

    assert predicted_saving(share, speedup) == pytest.approx(saving)
    with pytest.raises(ValueError):
        predicted_saving(1.5, 2.0)


def test_solve_time_sets_each_seed_against_the_demos_8000_steps(monkeypatch):
    """The demo's profile at 0.5 s a step makes 4000 s for 8000 steps; a seed solved in 4 s is 1000x less."""
    from panda_env.bench import solve_time as module
    from panda_env.training.sac import TrainingReport

    def fake_train(backend, steps, seed, profile="fast", **kwargs):
        report = TrainingReport(backend=backend, profile=profile, steps=steps, seed=seed, total_s=0.0, physics_s=0,
                                render_s=0, reward_s=0, learning_s=0, other_s=0, steps_per_s=0, reward_calls=0)
        if profile in ("original", "seed"):
            report.total_s = 0.5 * steps
        else:
            solved = seed != 2
            report.until_solved = {"solved": solved, "steps_to_solve": 700 if solved else None,
                                   "train_s_to_solve": 4.0 if solved else None, "check_s": 1.0}
            report.evaluation = {"success_rate": 0.96}
        return report

    monkeypatch.setattr(module, "train", fake_train)
    result = module.solve_time(seeds=(0, 1, 2), seed_steps=100)
    assert result["demo"]["total_s"] == pytest.approx(4000.0)
    assert [row["times_less_than_demo"] for row in result["rows"]] == [pytest.approx(1000.0), pytest.approx(1000.0), None]
    assert [row["solved"] for row in result["rows"]] == [True, True, False]


def test_bench_learner_times_sb3_and_fast_sac_on_the_same_batch(capsys):
    from panda_env.cli import main

    assert main(["bench-learner", "--blocks", "1", "--calls", "2"]) == 0
    out = capsys.readouterr().out
    assert "SB3 SAC.train" in out and "FastSAC.train" in out and "cheaper in CPU time" in out
    from panda_env.bench.learner import learner_step_costs

    result = learner_step_costs(blocks=1, calls=1)
    # the fast profile's train calls as its training makes them: 2 gradient steps per env, 2 envs stepped together
    assert result["batch_size"] == 256 and result["gradient_steps_per_call"] == 4
    assert result["cpu_ratio"] == result["sb3_cpu_ms"] / result["fast_cpu_ms"] > 0
