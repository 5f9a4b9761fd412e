"""Issue 27 items 1, 10, 11, 12: three verdicts (VERIFIED, FAILED, NOT VERIFIED), what each rests on, a known
failure of someone else's env accepted by name, and the README's downstream snippet run as written.

Foreign projects are built with ``pytester`` from ``tests/downstream`` (its line env and tiny classifier) and
small envs written here: one whose factory takes no ``render_mode`` (the grid env of the issue), one whose
images never change (an unmapped observation key), one whose ``drl_state_space`` the search cannot use.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from repo_paths import DOWNSTREAM, ROOT

from pytest_drlreward.checks.stats import Proportion, design_effect, wilson_interval
from pytest_drlreward.errors import NotVerifiedError
from pytest_drlreward.plugin.verdicts import constant_inputs, parse_allow_unverified

pytest_plugins = ["pytester"]

DOWNSTREAM_INI = """[pytest]
pythonpath = .
drl_env = {env}
drl_model = models/tiny
drl_backends = onnxruntime
drl_truth_key = true_goal
drl_fidelity_steps = 600
drl_search_steps = {search}
drl_min_recall = 0.9
drl_max_false_goal_rate = 0.01
drl_min_accuracy = 0.95
{extra}
"""

FOREIGN_ENVS = '''
import numpy as np
from line_env import LineEnv


class GridEnv(LineEnv):
    """The issue's grid env: no camera_image(), and its factory takes no render_mode."""

    camera_image = None


def make_grid_env():
    return GridEnv()


class BlackEnv(LineEnv):
    """Every image is black (like an observation key that was not mapped)."""

    def camera_image(self):
        return np.zeros((16, 16, 3), np.uint8)


def make_black_env(render_mode=None):
    return BlackEnv(render_mode=render_mode)


class UnplaceableEnv(LineEnv):
    """Offers the search's place hook, but its drl_state_space is a string."""

    drl_state_space = "anywhere on the plane"

    def drl_place(self, state):
        return {"true_goal": False}


def make_unplaceable_env(render_mode=None):
    return UnplaceableEnv(render_mode=render_mode)


class OutOfSpaceEnv(LineEnv):
    """Someone else's env with a known bug: its observation leaves its own space (Gymnasium's checker fails)."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs * 0 + 5.0, info


def make_out_of_space_env(render_mode=None):
    return OutOfSpaceEnv(render_mode=render_mode)
'''


def _project(pytester: pytest.Pytester, env: str = "line_env:make_env", search: int = 0, extra: str = "") -> pytest.Pytester:
    """The downstream project (line env, tiny classifier, its labelled images) with ``drl_env = env``."""
    for name in ("line_env.py", "tiny_model.py"):
        shutil.copyfile(DOWNSTREAM / name, pytester.path / name)
    shutil.copytree(DOWNSTREAM / "models", pytester.path / "models")
    (pytester.path / "foreign_envs.py").write_text(FOREIGN_ENVS)
    pytester.makeini(DOWNSTREAM_INI.format(env=env, search=search, extra=extra))
    return pytester


def _suite(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider", "-rfs", *args)


# --------------------------------------------------------------------------- the verdicts themselves

RAISING = """
import pytest
from pytest_drlreward.errors import NotVerifiedError

@pytest.fixture(scope="session")
def gap():
    raise NotVerifiedError("labelled", "the file holds 0 images", "write labelled images into it")

def test_in_the_test():
    raise NotVerifiedError("fidelity", "no images", "give it a camera_image()")

def test_in_a_fixture(gap):
    pass

def test_fine():
    pass
"""


def test_not_verified_fails_the_run_with_one_line_and_no_traceback(pytester):
    pytester.makepyfile(test_v=RAISING)
    result = pytester.runpytest("-rf")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=2)  # a fixture's gap is a failure too, not an error
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["FAILED *::test_in_the_test - NOT VERIFIED (fidelity): no images*",
                                 "FAILED *::test_in_a_fixture - NOT VERIFIED (labelled)*"])
    assert "NOT VERIFIED (fidelity): no images; to verify it: give it a camera_image()" in out
    assert "NOT VERIFIED (labelled): the file holds 0 images; to verify it: write labelled images into it" in out
    assert "raise NotVerifiedError" not in out and "Traceback" not in out, out  # no source, no traceback
    assert re.search(r"\bNN\.", out), out  # N in the progress line


def test_an_accepted_gap_is_a_skip_with_its_reason_printed_in_the_summary(pytester):
    pytester.makepyfile(test_v=RAISING)
    pytester.makeini("[pytest]\ndrl_allow_unverified =\n    labelled: no labels for this task yet\n    fidelity\n")
    result = pytester.runpytest("-rs")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([
        "*drlreward accepted gaps (drl_allow_unverified)*",
        "labelled: no labels for this task yet (applied to 1 test this run)",
        "fidelity: accepted in drl_allow_unverified (no reason given) (applied to 1 test this run)",
    ])
    result.stdout.fnmatch_lines(["SKIPPED*labelled accepted as not verified (no labels for this task yet): NOT VERIFIED "
                                 "(labelled): the file holds 0 images*"])


def test_an_unknown_check_in_allow_unverified_is_a_usage_error_naming_the_known_ones(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--drl-allow-unverified=fidelty: typo")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*drl_allow_unverified 'fidelty: typo' (on the command line): unknown check 'fidelty'; "
                                 "known checks: parity, decisions, labelled, fidelity, *env_checker*"])


def test_allow_unverified_parses_lines_lists_and_reasons():
    assert parse_allow_unverified("fidelity, search: no truth\nenv_checker: a: b\n\ntiming") == {
        "fidelity": "no truth", "search": "no truth", "env_checker": "a: b",
        "timing": "accepted in drl_allow_unverified (no reason given)"}
    with pytest.raises(ValueError, match="unknown check 'camera'"):
        parse_allow_unverified("camera: none")
    with pytest.raises(ValueError, match="unknown check 'nope'"):
        NotVerifiedError("fidelity", "r", "f", also=("nope",))


# --------------------------------------------------------------------------- gaps known at start, and at test time


def test_a_factory_without_render_mode_and_no_camera_is_one_usage_error_at_start(pytester):
    """The issue's grid env: with drl_truth_key set the run was green (11 passed, 11 skipped); now one line at start."""
    _project(pytester, env="foreign_envs:make_grid_env")
    result = _suite(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    errors = [line for line in result.stderr.lines if "ERROR" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr.str(), result.stderr.str()
    assert ("NOT VERIFIED (fidelity, decisions): GridEnv shows no image to classify: it has no camera_image() method "
            "and its factory foreign_envs:make_grid_env takes no render_mode argument") in errors[0], errors[0]
    assert "to verify it: give foreign_envs:make_grid_env a render_mode argument" in errors[0]
    assert "or accept the gap: drl_allow_unverified = fidelity, decisions" in errors[0]


def test_the_accepted_no_image_gap_is_green_with_the_reason_shown(pytester):
    _project(pytester, env="foreign_envs:make_grid_env",
             extra="drl_allow_unverified = fidelity, decisions: the grid env draws no picture")
    result = _suite(pytester, "-k", "fidelity or env_images")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(skipped=3)  # reference + onnxruntime fidelity, onnxruntime decisions on env images
    out = result.stdout.str()
    assert "decisions accepted as not verified (the grid env draws no picture): NOT VERIFIED (decisions): GridEnv" in out
    assert "fidelity accepted as not verified (the grid env draws no picture): NOT VERIFIED (fidelity): GridEnv" in out
    assert "fidelity: the grid env draws no picture (applied to 2 tests this run)" in out, out
    assert re.search(r"fidelity\s+onnxruntime\s+accepted \(the grid env draws no picture\)", out), out


def test_a_labelled_file_of_zero_images_is_not_verified_at_start_and_a_skip_when_accepted(pytester):
    _project(pytester)
    np.savez(pytester.path / "empty.npz", images=np.zeros((0, 16, 16, 3), np.uint8), labels=np.zeros(0, bool))
    result = _suite(pytester, "--drl-labelled-images=empty.npz", "-k", "labelled")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    result.stderr.fnmatch_lines(["*drl_labelled_images 'empty.npz' (on the command line): NOT VERIFIED (labelled): "
                                 "*empty.npz holds 0 labelled images*; to verify it: write labelled images into it*"
                                 "or accept the gap: drl_allow_unverified = labelled*"])
    result = _suite(pytester, "--drl-labelled-images=empty.npz", "-k", "labelled",
                    "--drl-allow-unverified=labelled: labels come next week")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(skipped=3)  # parity on labelled images, the reference's and onnxruntime's accuracy
    assert "passed" not in result.stdout.lines[-1], result.stdout.str()  # nothing passes "on 0 images"
    result.stdout.fnmatch_lines(["labelled: labels come next week (applied to 3 tests this run)"])


def test_an_unusable_drl_state_space_is_not_verified_and_fails_by_default(pytester):
    _project(pytester, env="foreign_envs:make_unplaceable_env", search=40)
    result = _suite(pytester, "-k", "fidelity")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "NOT VERIFIED (search): the search needs a bounded Box state space (drl_state_space)" in out, out
    assert "UserWarning" not in out, out
    # accepted: fidelity is judged on the rollout alone, and says so
    result = _suite(pytester, "-k", "fidelity", "--drl-allow-unverified=search: this env cannot be placed")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "no search: accepted as not verified (this env cannot be placed)" in out, out
    assert "search: this env cannot be placed (applied to 2 tests this run)" in out, out


def test_decision_parity_on_constant_images_is_not_verified_and_names_the_source(pytester):
    _project(pytester, env="foreign_envs:make_black_env")
    result = _suite(pytester, "-k", "env_images")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines(["NOT VERIFIED (decisions): all 600 env inputs (images from camera_image()) are the "
                                 "same input*; to verify it: make the env show its state*",
                                 "FAILED *env_images*onnxruntime*"])
    result.stdout.fnmatch_lines(["decisions*onnxruntime*NOT VERIFIED (all 600 env inputs (images from camera_image())*"])


def test_the_coverage_table_names_each_verdict_its_inputs_and_their_source(pytester):
    _project(pytester, search=40)
    result = _suite(pytester, "-k", "env_images or labelled or fidelity")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    out = result.stdout.str()
    table = out[out.index("drlreward coverage"):]
    assert re.search(r"decisions\s+onnxruntime\s+VERIFIED; on decisions: 600 env images \(images from camera_image\(\)\)",
                     table), table
    assert re.search(r"parity\s+onnxruntime\s+VERIFIED; on parity: 48 labelled images", table), table
    assert re.search(r"fidelity\s+torch \(ref\)\s+VERIFIED; on fidelity: rollout of 600 states from \d+ episodes "
                     r"\(reset seeds 0-\d+\); \d+ goal states from \d+ episodes \(images from camera_image\(\)\); "
                     r"\+ search for false goals: 10 states from \d+ probes", table), table
    # each fidelity proportion says how many episodes its states came from
    assert re.search(r"recall \d\.\d+ \[[\d.]+, [\d.]+\] \(\d+/\d+ in \d+ episodes\)", out), out


def test_the_coverage_table_and_the_not_verified_line_travel_through_xdist(pytester):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_v=RAISING)
    result = pytester.runpytest_subprocess("-n", "1", "-rf", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAILED *::test_in_the_test - NOT VERIFIED (fidelity): no images*"])
    result.stdout.fnmatch_lines(["*drlreward coverage*", "fidelity*NOT VERIFIED (no images)*"])


# --------------------------------------------------------------------------- a known failure of someone else's env


def test_a_known_env_checker_failure_is_accepted_by_name_with_its_reason_printed(pytester):
    _project(pytester, env="foreign_envs:make_out_of_space_env")
    result = _suite(pytester, "-k", "gymnasium_checker")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    reason = "our fork of the env clips observations, upstream issue 12"
    result = _suite(pytester, "-k", "gymnasium_checker", f"--drl-allow-unverified=env_checker: {reason}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"env_checker: {reason} (applied to 1 test this run)",
                                 f"env_checker*env*accepted ({reason})",
                                 f"SKIPPED*env_checker accepted as a known failure ({reason}): it fails: *"])
    # accepting a gap never hides a failure of the model's own checks: parity is not in ACCEPTS_FAILURE
    from pytest_drlreward.plugin.verdicts import ACCEPTS_FAILURE

    assert "parity" not in ACCEPTS_FAILURE and "fidelity" not in ACCEPTS_FAILURE


# --------------------------------------------------------------------------- what a proportion rests on


def test_a_clustered_proportion_counts_episodes_not_only_states():
    # 20 states in 2 episodes, every state of an episode alike: about 2 independent samples, not 20
    clustered = Proportion(10, 20, ((10, 10), (0, 10)))
    assert design_effect(clustered.clusters) == pytest.approx(10.0)
    assert clustered.interval == pytest.approx(wilson_interval(1, 2))
    plain = Proportion(10, 20)
    assert clustered.interval[1] - clustered.interval[0] > 2 * (plain.interval[1] - plain.interval[0])
    # states that vary within each episode as between them: no design effect
    mixed = Proportion(10, 20, ((5, 10), (5, 10)))
    assert design_effect(mixed.clusters) == 1.0 and mixed.interval == plain.interval
    assert clustered.text() == "0.500 [0.095, 0.905] (10/20 in 2 episodes)"
    # built from per-state arrays
    built = Proportion.of(np.array([1, 1, 0, 0], bool), np.ones(4, bool), np.array([7, 7, 9, 9]))
    assert built.clusters == ((2, 2), (0, 2)) and built == Proportion(2, 4)
    assert (built + Proportion(1, 1, ((1, 1),))).clusters == ((2, 2), (0, 2), (1, 1))


def test_constant_inputs_are_found_in_one_array_and_in_named_inputs():
    same = np.zeros((5, 4, 4, 3), np.uint8)
    varied = same.copy()
    varied[2, 0, 0, 0] = 1
    assert constant_inputs(same) and not constant_inputs(varied)
    assert constant_inputs({"front": same, "wrist": same}) and not constant_inputs({"front": same, "wrist": varied})
    assert not constant_inputs(same[:1])  # one input is not "all the same"


# --------------------------------------------------------------------------- the README's snippet


def _readme_blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Check your own reward model"):text.index("## Contents")]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def _snippet_project(root: Path) -> Path:
    """The README's project: ``my_project`` (the downstream env and trained CNN), the snippet's export code run
    as written, its ``pyproject.toml`` lines as written."""
    package = root / "my_project"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copyfile(DOWNSTREAM / "line_env.py", package / "envs.py")
    shutil.copyfile(DOWNSTREAM / "tiny_model.py", package / "model.py")
    code = ("import sys, numpy as np, torch\n"
            f"sys.path.insert(0, {str(root)!r})\n"
            "from my_project.model import build\n"
            "model = build()\n"
            f"model.load_state_dict(torch.load({str(DOWNSTREAM / 'models' / 'tiny' / 'classifier.pt')!r}, "
            "weights_only=True))\n"
            "example_images = np.zeros((1, 16, 16, 3), np.uint8)\n" + _readme_blocks("python")[0])
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, capture_output=True, timeout=300)
    (root / "pyproject.toml").write_text(_readme_blocks("toml")[0])
    return root


def test_the_project_goes_on_sys_path_only_for_a_module_it_holds(tmp_path, monkeypatch):
    from pytest_drlreward.plugin.project_path import add_project_to_path, top_module

    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "models" / "tiny").mkdir(parents=True)  # a classifier directory is no module
    (tmp_path / "my_envs_27.py").write_text("def make_env():\n    pass\n")
    assert top_module("my_envs_27:make_env") == "my_envs_27" and top_module("CartPole-v1") is None
    assert add_project_to_path(["models", "numpy", None], [tmp_path]) == []
    assert str(tmp_path) not in sys.path
    assert add_project_to_path([top_module("my_envs_27:make_env")], [tmp_path / "elsewhere", tmp_path]) == [tmp_path]
    assert sys.path[-1] == str(tmp_path)  # appended: it shadows nothing installed


def _clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "HYPOTHESIS_")) and key != "PYTHONPATH"}


def test_zero_code_mode_finds_the_projects_modules_under_plain_pytest(tmp_path):
    """``--drl-env`` / ``--drl-model`` with no ini file: the project's modules come from the current directory."""
    pytest.importorskip("torch")
    project = _snippet_project(tmp_path / "project")
    (project / "pyproject.toml").unlink()
    args = ["--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider", "-k", "step_contract or random_images",
            "--drl-env=my_project.envs:make_env", "--drl-model=models/my_classifier", "--drl-backends=onnxruntime"]
    result = subprocess.run([str(Path(sys.executable).with_name("pytest")), *args], cwd=project, env=_clean_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "2 passed" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("launcher", ["pytest", "python -m pytest"])
def test_the_readme_snippet_runs_as_written(tmp_path, launcher):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    project = _snippet_project(tmp_path / "project")
    command = next(line.split("  #")[0].strip() for line in _readme_blocks("bash")[1].splitlines()
                   if line.startswith("pytest "))
    argv = command.split()[1:]
    start = [str(Path(sys.executable).with_name("pytest"))] if launcher == "pytest" else [sys.executable, "-m", "pytest"]
    # plain pytest runs the whole command; python -m pytest (which always had the project on sys.path) a part of it
    subset = [] if launcher == "pytest" else ["-k", "step_contract or env_images or reward_fidelity"]
    result = subprocess.run([*start, *argv, "-p", "no:cacheprovider", *subset], cwd=project, env=_clean_env(),
                            capture_output=True, text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "NOT VERIFIED" not in out and "FAILED" not in out, out[-4000:]
    table = out[out.index("drlreward coverage"):]
    for check in ("parity", "decisions", "fidelity", "contract", "timing") if launcher == "pytest" else ("fidelity",):
        assert re.search(rf"^{check}\s+\S+(?: \(ref\))?\s+VERIFIED", table, flags=re.M), table
