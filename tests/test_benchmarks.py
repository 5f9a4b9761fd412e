"""The benchmark commands report what they measure (never a time asserted: only shape and consistency)."""

from __future__ import annotations

import pytest

from panda_env.cli import main
from panda_env.envs.task import IMAGE_SIZE
from panda_env.training.bench_step import profile_steps


def test_step_profile_rows_add_up_and_include_the_int8_model():
    result = profile_steps(image_sizes=(IMAGE_SIZE,), qualities=("fast",), rounds=3, include_seed=False)
    (row,) = result["rows"]
    assert row["image_size"] == IMAGE_SIZE and row["render_quality"] == "fast"
    for name in ("torch", "onnxruntime", "openvino", "openvino-int8"):  # the shipped model has int8/
        parts = row["move_ms"] + row["render_ms"] + row[f"reward_{name}_ms"] + row["sac_learning_ms"]
        assert row[f"step_{name}_ms"] == pytest.approx(parts)
        assert 0 < row[f"reward_{name}_share"] < 1
    assert all(row[k] > 0 for k in ("move_ms", "render_ms", "sac_learning_ms"))


def test_bench_backends_prints_every_backend_and_the_batching_gain(capsys):
    assert main(["bench-backends", "--rounds", "5"]) == 0
    out = capsys.readouterr().out
    for name in ("torch", "onnxruntime", "openvino", "openvino-int8"):
        assert sum(line.split()[0] == name for line in out.splitlines() if line.strip()) == 2  # batch 1 and 8
    assert "one batch-8 call against 8 calls at batch 1, per image: torch" in out
