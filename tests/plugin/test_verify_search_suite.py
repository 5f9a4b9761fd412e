"""The contract suite's fidelity tests on a foreign project (``tests/downstream/point_env.py`` and its
hand-set classifiers), run as that project runs them: ini keys only, defaults except ``drl_truth_key``.
The 0.7-band classifier fails by the search's false goals, the right one passes (also with
``drl_max_false_goal_rate = 0.01``); a truth key the env never reports is one usage error; the
rollout fixture steps the configured ``drl_policy``."""

from __future__ import annotations

import importlib.util
import re
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
    assert "false goals saved (" in out, out
    found = re.search(r"search for false goals \(.*?\): (\d+) false goals in (\d+) non-goal states", out)
    assert found and int(found[1]) >= 0.05 * int(found[2]), out  # the false-goal search itself finds them
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


# -- every reward shape (issue 27): the docs' two-camera model over a Dict observation, its frame-stack variant --

@pytest.fixture(scope="module")
def camera_project(tmp_path_factory) -> Path:
    """A project with ``reward_models.py`` and the two-camera classifiers: right (boundary 1.602) and band (1.5),
    each plain and as 2-frame stacks."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import reward_models

    root = tmp_path_factory.mktemp("camera_project")
    shutil.copy(Path(reward_models.__file__), root / "reward_models.py")
    for frames in (0, 2):
        for name, boundary in (("right", 1.602), ("band", 1.5)):
            reward_models.export_two_camera(root / "models" / f"{name}{frames}", boundary, frames)
    return root


def _camera_suite(project: Path, factory: str, model: str, truth_key: str, search_steps: int) -> tuple[int, str]:
    """The suite's fidelity tests on ``reward_models:<factory>`` judged by ``models/<model>``."""
    (project / "pytest.ini").write_text(
        f"[pytest]\npythonpath = .\ndrl_env = reward_models:{factory}\ndrl_model = models/{model}\n"
        f"drl_backends = onnxruntime\ndrl_truth_key = {truth_key}\ndrl_fidelity_steps = 300\n"
        f"drl_search_steps = {search_steps}\n")
    result = subprocess.run([sys.executable, *ARGS], cwd=project, env=_clean_env(), capture_output=True, text=True,
                            timeout=300)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("frames", [0, 2], ids=["two cameras", "frame stacks"])
def test_the_two_camera_band_model_fails_by_the_searchs_false_goals_and_the_right_one_passes(camera_project, frames):
    """The suite searches a two-input model over a Dict observation (and a frame stack): no silent ``()``."""
    factory = "make_stacked_two_camera_env" if frames else "make_two_camera_env"

    def suite(model: str) -> tuple[int, str]:
        return _camera_suite(camera_project, factory, f"{model}{frames}", "true_goal", 1200)

    code, out = suite("band")
    assert code == 1, out
    assert "found false goals at a rate" in out and "false goal at search probe" in out, out
    assert "false goals saved (" in out, out
    code, out = suite("right")
    assert code == 0, out
    assert "search's false goals 0.00%" in out and "states of a" in out, out


GUIDE_TEST = '''
import numpy as np
from pytest_drlreward.checks.goalscore import goal_scores


def right_logits(images):
    """The 0.8 classifier in numpy: another model than the ONNX file's (the 0.7 band)."""
    import torch
    import point_model

    with torch.inference_mode():
        return point_model.make_classifier(0.8)(torch.from_numpy(np.asarray(images))).numpy()


def test_the_search_is_steered_by_the_first_exact_candidate(drl_search, reward_backend, reference_backend):
    assert drl_search, "no search ran"
    for states in drl_search:
        candidate = goal_scores(reward_backend, states.images)[1]
        reference = goal_scores(reference_backend, states.images)[1]
        assert not np.allclose(candidate, reference, rtol=0.01, atol=0)  # the two classifiers differ here
        np.testing.assert_array_equal(states.probabilities, candidate)
'''


def test_the_search_is_steered_by_the_first_exact_candidate_not_the_reference(project):
    """Mutation guard for ``search_guide``: with a callable reference computing another classifier than the
    directory's ONNX file, the searched states carry the candidate's goal probabilities."""
    (project / "test_guide.py").write_text(GUIDE_TEST)
    (project / "pytest.ini").write_text("[pytest]\npythonpath = .\ndrl_env = point_env:make_env\ndrl_model = models/band\n"
                                        "drl_backends = onnxruntime\ndrl_reference = test_guide:right_logits\n"
                                        "drl_truth_key = true_goal\ndrl_fidelity_steps = 100\ndrl_search_steps = 200\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "test_guide.py", "-p", "no:cacheprovider"],
                            cwd=project, env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout


DISCRETE_ENV = '''
import gymnasium as gym
import point_env


class DiscretePointEnv(point_env.PointEnv):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.action_space = gym.spaces.Discrete(4)

    def step(self, action):
        moves = [(1, 0), (-1, 0), (0, 1), (0, -1)]
        return super().step(moves[int(action)])


def make_env(**kwargs):
    return DiscretePointEnv(**kwargs)
'''


def test_an_env_the_search_cannot_drive_is_not_verified_never_a_silent_pass(project):
    """A Discrete action space (and no drl_place hook): the search cannot run, and the run is not green."""
    (project / "discrete_env.py").write_text(DISCRETE_ENV)
    (project / "pytest.ini").write_text("[pytest]\npythonpath = .\ndrl_env = discrete_env:make_env\n"
                                        "drl_model = models/right\ndrl_backends = onnxruntime\ndrl_truth_key = true_goal\n")
    result = subprocess.run([sys.executable, *ARGS], cwd=project, env=_clean_env(), capture_output=True, text=True,
                            timeout=300)
    code, out = result.returncode, result.stdout + result.stderr
    assert code != 0, out
    assert "NOT VERIFIED (search)" in out and "bounded Box action space" in out and "drl_place" in out, out


BROKEN_PLACE = '''
import point_env


class ReturnsNothing(point_env.PlacedPointEnv):
    def drl_place(self, state):
        super().drl_place(state)  # forgets to return the info


class Raises(point_env.PlacedPointEnv):
    def drl_place(self, state):
        raise RuntimeError("cannot place there")


def returns_nothing(**kwargs):
    return ReturnsNothing(**kwargs)


def raises(**kwargs):
    return Raises(**kwargs)
'''


@pytest.mark.parametrize(("factory", "says"), [("returns_nothing", "returned NoneType, not a dict"),
                                                ("raises", "raised RuntimeError: cannot place there")])
def test_a_broken_drl_place_hook_is_one_usage_error(project, factory, says):
    """A drl_place hook returning None or raising stops the run once, naming the hook and the fix, instead of a
    traceback in every fidelity test."""
    (project / "broken_place.py").write_text(BROKEN_PLACE)
    code, out = _suite(project, "right", args=(f"--drl-env=broken_place:{factory}",))
    assert code == pytest.ExitCode.USAGE_ERROR, out
    assert "drl_place: search probe" in out and says in out, out
    assert "Traceback" not in out and out.count("drl_place:") == 1, out


def test_the_suite_judges_a_dense_score_by_its_false_goals_and_passes_the_right_one(camera_project):
    """A dense reward (``score`` rule, no threshold) against a dense truth (``progress``): the suite's fidelity
    tests search it too; the score that also pays where progress is low FAILS by the search's false goals."""
    import reward_models

    for bump in (0.0, 20.0):
        reward_models.export_two_camera(camera_project / "models" / f"score{bump:g}", 0.0,
                                        model=reward_models.two_camera_score_model(bump), decision="score")

    def suite(model: str) -> tuple[int, str]:
        return _camera_suite(camera_project, "make_two_camera_env", model, "progress", 800)

    code, out = suite("score20")
    assert code == 1, out
    assert "while the truth is low" in out, out
    code, out = suite("score0")
    assert code == 0, out
    assert "correlation" in out, out
