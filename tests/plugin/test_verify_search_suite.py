"""The contract suite's fidelity tests on a foreign project (``tests/downstream/point_env.py`` and its
hand-set classifiers), run as that project runs them: ini keys only, defaults except ``drl_truth_key``.
The 0.7-band classifier fails by the search's false goals, the right one passes (also with
``drl_max_false_goal_rate = 0.01``); a truth key the env never reports is one usage error; the
rollout fixture steps the configured ``drl_policy``."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import DOWNSTREAM
from test_downstream import _clean_env

ARGS = ["-m", "pytest", "--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider", "-k", "fidelity", "-rs"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The foreign project: its env, its classifier module and both classifier directories."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    root = tmp_path_factory.mktemp("point_project")
    for name in ("point_env.py", "point_model.py"):
        shutil.copy(DOWNSTREAM / name, root / name)
    code = "import point_model; point_model.export('models/right', 0.8); point_model.export('models/band', 0.7)"
    subprocess.run([sys.executable, "-c", code], cwd=root, env=_clean_env(), check=True, capture_output=True, timeout=300)
    return root


def _suite(project: Path, model: str, *extra_ini: str, args: tuple[str, ...] = (), truth_key: str = "true_goal") -> tuple[int, str]:
    ini = ["[pytest]", "pythonpath = .", "drl_env = point_env:make_env", f"drl_model = models/{model}",
           "drl_backends = onnxruntime", f"drl_truth_key = {truth_key}", *extra_ini]
    (project / "pytest.ini").write_text("\n".join(ini) + "\n")
    result = subprocess.run([sys.executable, *ARGS, *args], cwd=project, env=_clean_env(), capture_output=True, text=True,
                            timeout=300)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("extra", [(), ("drl_max_false_goal_rate = 0.01",)], ids=["defaults", "max rate 0.01"])
def test_the_band_classifier_fails_by_the_searchs_false_goals_and_the_right_one_passes(project, extra, tmp_path):
    code, out = _suite(project, "band", *extra)
    assert code == 1, out
    assert "found false goals at a rate" in out and "false goal at search probe" in out, out
    default = "cma" if importlib.util.find_spec("cmaes") is not None else "hypothesis"  # drl_search_method = auto
    assert f"of a {default} search for" in out, out
    assert "false goals saved (images, seeds, actions) in" in out, out
    code, out = _suite(project, "right", *extra, args=(f"--drl-plots={tmp_path}",))
    assert code == 0, out
    assert "search's false goals 0.00%" in out and "drlreward threshold sweep" in out, out
    assert (tmp_path / "threshold_sweep_torch.png").is_file() or "matplotlib is not installed" in out, out


def test_drl_search_method_chooses_the_searches_optimiser_and_names_a_bad_one(project):
    """The band classifier's failure names the optimiser that ``drl_search_method`` chose; an unknown one is one
    usage error naming it and the allowed ones."""
    code, out = _suite(project, "band", "drl_search_method = hypothesis")
    assert code == 1, out
    assert "of a hypothesis search for" in out and "of a cma search for" not in out, out
    code, out = _suite(project, "band", args=("--drl-search-method=annealing",))
    assert code == 4, out
    assert "'annealing'" in out and "allowed: auto, cma, hypothesis" in out, out


def test_a_truth_key_the_env_never_reports_is_one_usage_error(project):
    code, out = _suite(project, "right", truth_key="reached")
    assert code == 4, out
    assert "drl_truth_key 'reached'" in out and "never reports it" in out and "'true_goal'" in out, out


POLICY_TEST = '''
import numpy as np
import point_env

STEPPED = []


class Recording(point_env.PointEnv):
    def step(self, action):
        STEPPED.append(np.asarray(action).tolist())
        return super().step(action)


def make_env(**kwargs):
    return Recording(**kwargs)


def constant(obs):
    return np.array([0.0123, -0.0456], dtype=np.float32)


def test_the_rollout_steps_the_configured_policy(drl_rollout):
    assert len(STEPPED) == len(drl_rollout) == 7
    assert all(action == [np.float32(0.0123), np.float32(-0.0456)] for action in STEPPED)
    assert drl_rollout.policy == "constant"
'''


def test_the_rollout_fixture_steps_the_configured_policy(project):
    """Mutation guard: a rollout fixture that ignored drl_policy would step random actions."""
    (project / "test_policy_used.py").write_text(POLICY_TEST)
    (project / "pytest.ini").write_text("[pytest]\npythonpath = .\ndrl_env = test_policy_used:make_env\n"
                                        "drl_policy = test_policy_used:constant\ndrl_fidelity_steps = 7\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "test_policy_used.py", "-p", "no:cacheprovider"],
                            cwd=project, env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
