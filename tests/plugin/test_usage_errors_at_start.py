"""Issue 28: bad settings and inputs are one usage error at start, before any test runs (each line names the value
and the fix): an SB3 agent's policy kwargs, a forged labelled file, timing baselines, golden and plot outputs.
A legitimate agent saved with ``activation_fn=nn.Tanh`` loads."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from start_errors import usage_error_at_start

pytest_plugins = ["pytester"]


def test_an_sb3_agent_with_a_tanh_activation_loads_and_acts_as_saved(tmp_path):
    pytest.importorskip("stable_baselines3")
    import gymnasium as gym
    import torch.nn as nn
    from stable_baselines3 import PPO

    from pytest_drlreward.env.policies import check_policy_spec, load_policy

    agent = PPO("MlpPolicy", gym.make("Pendulum-v1"), policy_kwargs={"net_arch": [8], "activation_fn": nn.Tanh},
                n_steps=64, device="cpu", seed=0)
    agent.save(tmp_path / "tanh.zip")
    check_policy_spec(str(tmp_path / "tanh.zip"))
    policy = load_policy(str(tmp_path / "tanh.zip"))
    for obs in np.random.default_rng(0).uniform(-1, 1, (5, 3)).astype(np.float32):
        np.testing.assert_allclose(policy(obs), agent.predict(obs, deterministic=True)[0], atol=1e-6)


def test_an_sb3_agent_needing_a_pickled_class_is_refused_at_start_naming_the_key(tmp_path):
    pytest.importorskip("stable_baselines3")
    from pytest_drlreward.env.policies import PolicyError, check_policy_spec

    path = tmp_path / "agent.zip"
    data = {"policy_class": {"__module__": "stable_baselines3.ppo.policies"},
            "policy_kwargs": {":type:": "<class 'dict'>", ":serialized:": "x",
                              "features_extractor_class": "<class 'evil.Extractor'>"}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", json.dumps(data))
        archive.writestr("policy.pth", b"")
    with pytest.raises(PolicyError, match=r"policy_kwargs\['features_extractor_class'\].*unpickling"):
        check_policy_spec(str(path))


def _forged_labelled(path: Path, count: int) -> Path:
    """An .npz whose headers claim ``count`` 16x16 images and labels, holding none of their bytes."""
    import io

    with zipfile.ZipFile(path, "w") as archive:
        for key, shape, dtype in (("images", (count, 16, 16, 3), np.uint8), ("labels", (count,), np.bool_)):
            buffer = io.BytesIO()
            np.lib.format.write_array_header_1_0(buffer, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                          "shape": shape})
            archive.writestr(f"{key}.npy", buffer.getvalue())
    return path


def test_a_labelled_file_claiming_a_hundred_million_images_is_one_usage_error(pytester, tmp_path):
    from pytest_drlreward.checks.labelled import check_labelled_file

    forged = _forged_labelled(tmp_path / "forged.npz", 10**8)
    with pytest.raises(ValueError, match=r"100,000,000 images"):
        check_labelled_file(forged)
    with pytest.raises(ValueError, match=r"holds .* bytes"):
        check_labelled_file(_forged_labelled(tmp_path / "small.npz", 10))
    usage_error_at_start(pytester, f"drl_labelled_images = {forged}", named="100,000,000 images")


@pytest.mark.parametrize(("ratio", "named"), [(1e300, "is no measurement"), (float("nan"), "finite positive"),
                                              (-1.0, "finite positive")])
def test_a_bad_timing_baseline_is_one_usage_error_before_any_test(pytester, ratio, named):
    baseline = pytester.path / "baseline.json"
    baseline.write_text(json.dumps({"format": 1, "reference": "torch", "ratios": {"onnxruntime@1": ratio}}))
    usage_error_at_start(pytester, "", f"--drl-timing-compare={baseline}", named=named)


@pytest.mark.parametrize("case", ["file", "symlink"])
def test_golden_save_at_a_file_or_a_symlink_is_one_usage_error(pytester, case):
    target = pytester.path / "golden"
    if case == "file":
        target.write_text("x")
    else:
        (pytester.path / "real.txt").write_text("x")
        target.symlink_to(pytester.path / "real.txt")
    usage_error_at_start(pytester, "", f"--drl-golden-save={target}", named=f"a {case}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_golden_save_into_an_unwritable_directory_is_one_usage_error(pytester):
    target = pytester.path / "locked"
    target.mkdir()
    target.chmod(0o500)
    try:
        usage_error_at_start(pytester, "", f"--drl-golden-save={target}", named="cannot write")
    finally:
        target.chmod(0o700)


def test_a_plots_directory_holding_a_file_where_a_directory_goes_is_one_usage_error(pytester):
    plots = pytester.path / "plots"
    plots.mkdir()
    (plots / "drl_false_goals_onnxruntime").write_text("in the way")
    usage_error_at_start(pytester, "", f"--drl-plots={plots}", named="drl_false_goals_onnxruntime")


def test_trusting_every_module_is_refused_and_patterns_match_packages(pytester):
    from pytest_drlreward.util.allowlist import matches, parse_trusted_modules

    assert parse_trusted_modules("my_lab.*, torchvision.models") == ("my_lab.*", "torchvision.models")
    assert matches("my_lab", ["my_lab.*"]) and matches("my_lab.nets.cnn", ["my_lab.*"])
    assert not matches("my_lab_evil", ["my_lab.*"]) and not matches("torchvision.models.x", ["torchvision.models"])
    usage_error_at_start(pytester, "drl_trusted_modules = *", named="drl_trusted_modules '*'")
