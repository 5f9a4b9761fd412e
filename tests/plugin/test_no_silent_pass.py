"""Issue 20 cases 5-7: no check passes on garbage (NaN or infinite outputs, a self-comparison, a bad or empty
timing baseline)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fakes import FixedLogitsBackend
from repo_paths import DOWNSTREAM

from pytest_drlreward import timing
from pytest_drlreward.checks import (
    assert_backends_agree,
    assert_decisions_agree,
    assert_labelled_accuracy,
    assert_reward_fidelity,
)
from pytest_drlreward.checks.finite import NonFiniteError, require_finite
from pytest_drlreward.checks.parity import ParityError
from pytest_drlreward.checks.rollout import Rollout

pytest_plugins = ["pytester"]
IMAGES = np.zeros((6, 4, 4, 3), np.uint8)
GOOD = np.tile(np.array([[2.0, -1.0]], np.float32), (6, 1))


def _nan(name: str = "openvino-int8") -> FixedLogitsBackend:
    return FixedLogitsBackend(name, np.full((6, 2), np.nan, np.float32))


def test_require_finite_names_the_count_and_the_first_index():
    values = np.zeros((3, 2), np.float32)
    values[1, 1], values[2, 0] = np.nan, np.inf
    with pytest.raises(NonFiniteError, match=r"backend 'x' returned 2 non-finite logits out of 6: input 1 element 1 = nan, "
                                             r"input 2 element 0 = inf"):
        require_finite(values, "backend 'x'", unit="logits")
    assert require_finite(np.ones(3), "fine") is not None


@pytest.mark.parametrize("reference", ["torch-good", "torch-nan"])
def test_decision_parity_fails_on_nan_logits_even_nan_against_nan(reference):
    ref = FixedLogitsBackend("torch", GOOD) if reference == "torch-good" else _nan("torch")
    with pytest.raises(NonFiniteError, match="returned 12 non-finite logits out of 12: input 0 element 0 = nan"):
        assert_decisions_agree(ref, _nan(), IMAGES, max_flip_rate=0.01)


def test_the_quantized_route_of_the_suite_fails_on_nan_int8_outputs():
    from pytest_drlreward.plugin.config import DrlConfig
    from pytest_drlreward.plugin.recording import ParityRecorder

    class Node:
        user_properties: list = []

    recorder = ParityRecorder(Node(), DrlConfig())  # openvino-int8 is quantized: judged by its decisions
    with pytest.raises(NonFiniteError, match="openvino-int8"):
        recorder.check(FixedLogitsBackend("torch", GOOD), _nan(), IMAGES, source="labelled images")


def test_parity_and_accuracy_fail_on_nan_logits():
    with pytest.raises(ParityError, match="non-finite"):
        assert_backends_agree(FixedLogitsBackend("torch", GOOD), _nan("openvino"), IMAGES)
    with pytest.raises(NonFiniteError, match="non-finite"):
        assert_labelled_accuracy(_nan(), IMAGES, np.zeros(6, bool), min_accuracy=0.0)
    with pytest.raises(NonFiniteError, match="non-finite"):
        assert_labelled_accuracy(_nan(), IMAGES, np.zeros(6, bool), reference=FixedLogitsBackend("torch", GOOD),
                                 max_drop=1.0)


def test_fidelity_fails_on_nan_logits_and_nan_env_probabilities():
    truth = np.array([True, False] * 3)
    rollout = Rollout(images=IMAGES, truth=truth, decisions=truth.copy(), probabilities=np.full(6, np.nan),
                      episode_seeds=np.zeros(6, int), episode_steps=np.arange(6), truth_key="true_goal", seed=0,
                      policy="random actions")
    with pytest.raises(NonFiniteError):
        assert_reward_fidelity(rollout, _nan(), min_recall=0.0, max_false_goal_rate=1.0, min_goals=0)
    with pytest.raises(NonFiniteError, match="info\\['goal_probability'\\]"):
        assert_reward_fidelity(rollout, min_recall=0.0, max_false_goal_rate=1.0, min_goals=0)


def test_golden_outputs_refuse_nan_logits(tmp_path):
    from pytest_drlreward.plugin.golden import save_golden

    with pytest.raises(NonFiniteError):
        save_golden(tmp_path, "openvino", np.full((6, 2), np.nan), IMAGES)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0, -1, "1.0", True])
def test_a_baseline_with_a_bad_ratio_is_refused_naming_it(bad):
    baseline = {"format": timing.BASELINE_FORMAT, "ratios": {"torch@1": 1.0, "openvino@1": bad}}
    summary = timing.summarise([{"backend": "torch", "batch": 1, "median_ms": 2.0},
                                {"backend": "openvino", "batch": 1, "median_ms": 1.0}])
    with pytest.raises(ValueError, match="ratio 'openvino@1' is .*finite positive number"):
        timing.compare_with_baseline(summary, baseline)


def test_a_comparison_with_nothing_measured_is_an_error():
    baseline = {"format": timing.BASELINE_FORMAT, "ratios": {"openvino@1": 0.5}}
    with pytest.raises(ValueError, match="nothing was measured"):
        timing.compare_with_baseline([], baseline)


def test_timing_compare_fails_the_run_on_a_nan_baseline_and_when_nothing_was_measured(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    (pytester.path / "nan.json").write_text('{"format": 1, "ratios": {"openvino@1": NaN}}')
    result = pytester.runpytest("--drl-timing-compare=nan.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # checked at start: one line, no test runs
    result.stderr.fnmatch_lines(["*--drl-timing-compare=nan.json: ratio 'openvino@1' is nan*--drl-timing-save*"])
    (pytester.path / "ok.json").write_text(json.dumps({"format": 1, "ratios": {"openvino@1": 0.5}}))
    result = pytester.runpytest("--drl-timing-compare=ok.json", "-m", "not timing")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*nothing was measured*"])


def test_comparing_the_reference_with_itself_is_a_usage_error(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--drl-backends=torch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*drl_backends 'torch'*the reference*itself proves nothing*"])


def test_a_model_giving_nan_fails_the_suite_naming_the_backend(tmp_path):
    """Case 5 end to end: the downstream project's classifier with NaN weights on ONNX Runtime fails every check
    of the labelled images, each naming the non-finite logits."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("onnxruntime")
    from model_edits import scale_largest_onnx_weight

    downstream = DOWNSTREAM
    project = Path(shutil.copytree(downstream, tmp_path / "project", ignore=shutil.ignore_patterns("__pycache__")))
    scale_largest_onnx_weight(project / "models" / "tiny", float("nan"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "pytest_drlreward.suite",
                             "-k", "labelled", "--drl-backends=onnxruntime", "-q", "-rf"], cwd=project, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "2 failed" in result.stdout, result.stdout[-3000:]
    summary = [line for line in result.stdout.splitlines() if line.startswith("FAILED") and "non-finite logits" in line
               and "::" not in line.split()[1]]  # not pytest's own short summary (full-width under CI=true)
    assert len(summary) == 2, result.stdout[-3000:]  # the parity and the accuracy lines of the plugin's summary
