"""The contract suite's reward audit (``pytest_drlreward/suite/test_audit.py``) on a foreign project: the point env
whose reward calls the band 0.7-0.8 a goal (pure numpy, no classifier) fails at the onset with the step, the
counts and where the frames are; an honest reward passes; an env without the learned decision, or no truth
key, is NOT VERIFIED before any training."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import DOWNSTREAM

pytest.importorskip("stable_baselines3")

ARGS = ["-m", "pytest", "--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider", "-k", "exploit", "-m", "slow",
        "-rs"]
ENVS = '''
import numpy as np
import point_env


class BandEnv(point_env.PointEnv):
    """The learned reward calls x, y > 0.7 a goal; the truth is x, y > 0.8."""

    def step(self, action):
        obs, _, _, truncated, info = super().step(action)
        learned = bool(np.all(self._point > 0.7))
        info = {**info, "is_goal": learned, "goal_probability": float(learned)}
        return obs, 10.0 if learned else -1.0, learned, truncated, info


class NoDecisionEnv(point_env.PointEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {"true_goal": info["true_goal"]}


def band(**kwargs):
    return BandEnv(**kwargs)


def honest(**kwargs):
    return point_env.PointEnv(**kwargs)


def no_decision(**kwargs):
    return NoDecisionEnv(**kwargs)
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audit_project")
    shutil.copy(DOWNSTREAM / "point_env.py", root / "point_env.py")
    (root / "audit_project_envs.py").write_text(ENVS)
    return root


def suite(project: Path, factory: str, *ini: str) -> tuple[int, str]:
    lines = ["[pytest]", "pythonpath = .", f"drl_env = audit_project_envs:{factory}", *ini]
    (project / "pytest.ini").write_text("\n".join(lines) + "\n")
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "HYPOTHESIS_"))}
    result = subprocess.run([sys.executable, *ARGS], cwd=project, env=clean, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_an_exploited_reward_fails_at_the_onset_with_the_step_counts_and_frames(project):
    code, out = suite(project, "band", "drl_truth_key = true_goal", "drl_audit_steps = 4000")
    assert code == 1, out
    assert "the agent exploits the learned reward (SAC trained" in out, out
    assert "EXPLOITATION from step" in out and "false goals saved in" in out, out
    assert "the agent at the onset:" in out and "agent_at_onset.zip" in out, out


@pytest.mark.slow
def test_an_honest_reward_passes(project):
    code, out = suite(project, "honest", "drl_truth_key = true_goal", "drl_audit_steps = 300")
    assert code == 0, out
    assert "1 passed" in out, out


def test_no_learned_decision_or_no_truth_key_is_not_verified(project):
    code, out = suite(project, "no_decision", "drl_truth_key = true_goal")
    assert code == 1, out
    assert "NOT VERIFIED (audit)" in out and "reports no learned decision 'is_goal'" in out, out
    code, out = suite(project, "honest")
    assert code == 1, out
    assert "NOT VERIFIED (audit): no drl_truth_key" in out, out
