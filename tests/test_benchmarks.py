"""The benchmark commands report what they measure (never a time asserted: only shape and consistency)."""

from __future__ import annotations

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


def test_bench_backends_prints_every_backend_and_the_batching_gain(capsys):
    assert main(["bench-backends", "--rounds", "5"]) == 0
    out = capsys.readouterr().out
    for name in ("torch", "onnxruntime", "openvino", "openvino-int8"):
        assert sum(line.split()[0] == name for line in out.splitlines() if line.strip()) == 2  # batch 1 and 8
    assert "one batch-8 call against 8 calls at batch 1, per image: torch" in out
