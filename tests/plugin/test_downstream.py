"""The core as a downstream project uses it: ``tests/downstream`` (a numpy env, a tiny CNN, ini keys only).

- the ready contract suite passes there (env checkers, parity, decision parity on the env's images,
  labelled accuracy, reward fidelity, timing), its parity tests fail on an ONNX file with other weights,
  its fidelity tests fail on a classifier that is wrong near the goal, and a corrupt classifier directory
  or a misspelt env factory is one usage error;
- running the suite imports neither ``panda_env`` nor PyBullet (nor stable-baselines3 outside its checker);
- no module of ``pytest_drlreward`` imports ``panda_env``, and only the plugin-side modules import pytest
  (checked on the source, with ``ast``);
- ``export_classifier`` takes a ``forward(self, x)`` model and a one-image example, and the ONNX it
  writes runs at any batch size.

The suite runs in a subprocess, in a copy of ``tests/downstream`` under ``tmp_path``.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_edits import rehash
from repo_paths import DOWNSTREAM

import pytest_drlreward

PACKAGE = Path(pytest_drlreward.__file__).resolve().parent
SUITE_ARGS = ["--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider"]
# Modules of pytest_drlreward that belong to the pytest side and may import pytest (paths relative to PACKAGE).
PYTEST_SIDE_DIRS = {"plugin", "suite"}  # the pytest side: the plugin package and the ready suite (docs/architecture.md)
FORBIDDEN_AT_RUN_TIME = ("panda_env", "pybullet", "stable_baselines3")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the downstream project (so nothing, e.g. Hypothesis's database, is written into the repo)."""
    root = tmp_path / "downstream"
    shutil.copytree(DOWNSTREAM, root, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache"))
    return root


def _clean_env() -> dict[str, str]:
    """This process's environment without pytest's, xdist's and Hypothesis's variables."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "HYPOTHESIS_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=300)


def _load_tiny_model(monkeypatch: pytest.MonkeyPatch, project: Path):
    """``tiny_model`` from the project, importable as ``tiny_model`` (its ``torch_factory``) for this test only."""
    spec = importlib.util.spec_from_file_location("tiny_model", project / "tiny_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "tiny_model", module)
    return module


# --------------------------------------------------------------------------- the suite on the project


CANDIDATES = ("onnxruntime", "openvino")


def test_contract_suite_passes_on_the_downstream_project(project):
    result = _run(["-m", "pytest", *SUITE_ARGS, "-rs", "-v"], project)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    summary = out.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, out
    passed = [f"::{name} PASSED" for name in (
        "test_env_keeps_step_contract", "test_env_passes_gymnasium_checker", "test_env_passes_sb3_checker",
        "test_vector_env_matches_single_envs", "test_reference_classifies_labelled_images",
        "test_reference_reward_fidelity")]
    for backend in CANDIDATES:
        passed += [f"::{name}[{backend}] PASSED" for name in (
            "test_backend_matches_reference_on_random_images", "test_backend_matches_reference_on_labelled_images",
            "test_backend_decisions_match_reference_on_env_images", "test_backend_classifies_labelled_images",
            "test_reward_fidelity")]
        assert f"parity: {backend} vs torch:" in out, out
        assert f"decisions: {backend} vs torch on 600 env images: 0 reward flips (none allowed)" in out, out
        # the honest labelled set: 2 of 48 images just inside the goal radius are wrong, drl_min_accuracy = 0.95
        assert f"{backend} on 48 labelled images: accuracy 0.958 [0.860, 0.988] (46/48) (required >= 0.95)" in out, out
        assert f"{backend} vs true_goal on 600 steps, random actions (seed 0) + 400 states of a cma search for false goals" in out, out
    # per-backend tolerances from the ini table
    assert "parity: onnxruntime vs torch: 48 images" in out and "(atol=1e-5, rtol=1e-4) [labelled images]" in out, out
    assert "parity: openvino vs torch: 48 images" in out and "(atol=1e-4, rtol=1e-3) [labelled images]" in out, out
    missing = [line for line in passed if line not in out]
    assert not missing, f"not reported as passed: {missing}\n{out}"
    assert "FAILED" not in out, out


def _export_variant(project: Path, monkeypatch: pytest.MonkeyPatch, name: str, goal_shift: float) -> Path:
    """The project's classifier with its goal logit moved by ``goal_shift`` (against the other), exported as models/NAME."""
    torch = pytest.importorskip("torch")
    tiny_model = _load_tiny_model(monkeypatch, project)
    model = tiny_model.build()
    model.load_state_dict(torch.load(project / "models" / "tiny" / "classifier.pt", weights_only=True))
    with torch.no_grad():
        model.head.bias += torch.tensor([-goal_shift / 2, goal_shift / 2])
    out = project / "models" / name
    pytest_drlreward.export_classifier(model, np.zeros((1, 16, 16, 3), np.uint8), out, torch_factory="tiny_model:build")
    return out


# The classifier's logit gap moves 8/255 per colour level of mean(red - blue); its boundary is near +5 levels.
# Shifted by +1.9 it calls goal up to ~55 levels into the blue (points up to ~1.5 goal radii away): false goals.
# Shifted by -1.9 it needs ~65 levels of red (points within ~0.4 goal radii): missed goals.
@pytest.mark.parametrize("shift, problem", [(1.9, "false-goal rate"), (-1.9, "goal recall")],
                         ids=["false goals near the goal", "missed goals near the boundary"])
def test_fidelity_fails_on_a_classifier_wrong_near_the_goal(project, monkeypatch, shift, problem):
    _export_variant(project, monkeypatch, "wrong", shift)
    result = _run(["-m", "pytest", *SUITE_ARGS, "-k", "fidelity", "--drl-model=models/wrong",
                   "--drl-labelled-images=models/tiny/labelled_images.npz"], project)
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "3 failed" in out.splitlines()[-1], out  # the reference and both backends
    assert "reward fidelity fails:" in out and problem in out and "(even the interval's" in out, out
    assert "FAILED torch vs true_goal on 600 steps" in out, out  # the summary line, marked
    assert ("false goal at step" if shift > 0 else "missed goal at step") in out, out  # worst cases, with seeds


def test_parity_fails_on_an_onnx_file_with_other_weights(project, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from pytest_drlreward.classifier import ONNX_FILE

    tiny_model = _load_tiny_model(monkeypatch, project)
    torch.manual_seed(1)
    other = tmp_path / "other"
    example = np.zeros((1, 16, 16, 3), np.uint8)
    pytest_drlreward.export_classifier(tiny_model.build(), example, other, torch_factory="tiny_model:build")
    model = project / "models" / "tiny"
    shutil.copyfile(other / ONNX_FILE, model / ONNX_FILE)
    rehash(model, ONNX_FILE)  # the hash check passes: only parity can catch it

    result = _run(["-m", "pytest", *SUITE_ARGS, "-m", "parity"], project)
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "6 failed" in out.splitlines()[-1], out  # 3 parity tests (random, labelled, env images) x 2 backends
    assert "backends disagree" in out and "worst element: image" in out, out
    assert "FAILED parity: onnxruntime vs torch" in out, out  # the summary prints failing rows, marked
    assert "\nparity: onnxruntime vs torch" not in out, out


def test_golden_outputs_are_saved_and_a_later_run_shows_what_moved(project):
    result = _run(["-m", "pytest", *SUITE_ARGS, "-k", "golden", "--drl-golden-save=golden"], project)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "3 passed" in out, out
    assert sorted(p.name for p in (project / "golden").iterdir()) == ["onnxruntime.npz", "openvino.npz", "torch.npz"]
    assert "torch: saved logits on 48 labelled images to" in out, out
    result = _run(["-m", "pytest", *SUITE_ARGS, "-k", "golden", "--drl-golden-compare=golden"], project)
    assert result.returncode == 0, result.stdout
    assert "parity: openvino vs golden openvino: 48 images, max |diff| 0," in result.stdout, result.stdout
    # another runtime version moves openvino's logits by 1e-3
    with np.load(project / "golden" / "openvino.npz") as data:
        moved = {"logits": data["logits"] + np.float32(1e-3), "meta": data["meta"]}
    np.savez(project / "golden" / "openvino.npz", **moved)
    result = _run(["-m", "pytest", *SUITE_ARGS, "-k", "golden", "--drl-golden-compare=golden"], project)
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED and "1 failed, 2 passed" in out, out
    assert "candidate 'openvino' vs reference 'golden openvino'" in out and "saved with openvino " in out, out
    assert "FAILED parity: openvino vs golden openvino: 48 images" in out, out


def test_without_golden_options_no_golden_test_is_collected(project):
    result = _run(["-m", "pytest", *SUITE_ARGS, "--collect-only", "-q"], project)
    assert result.returncode == 0 and "golden" not in result.stdout, result.stdout


def _usage_error(project: Path, *args: str) -> str:
    result = _run(["-m", "pytest", *SUITE_ARGS, *args], project)
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, out
    assert "Traceback" not in out and out.count("ERROR") == 1, out
    return out


def test_corrupt_model_directory_is_one_usage_error(project):
    onnx = project / "models" / "tiny" / "classifier.onnx"
    onnx.write_bytes(onnx.read_bytes()[:-1] + b"\0")
    out = _usage_error(project)
    assert "drl_model 'models/tiny'" in out and "pytest.ini" in out, out  # the value and where it was set
    assert "classifier.onnx does not match the sha256" in out, out  # the file


def test_torch_factory_typo_is_one_usage_error(project):
    meta = project / "models" / "tiny" / "metadata.json"
    meta.write_text(meta.read_text().replace('"tiny_model:build"', '"tiny_model:buld"'))
    out = _usage_error(project)
    assert "torch_factory 'tiny_model:buld'" in out and "tiny_model.py" in out and "did you mean 'build'" in out, out


def test_env_factory_typo_is_one_usage_error(project):
    out = _usage_error(project, "--drl-env=line_env:make_envv")
    assert "drl_env 'line_env:make_envv'" in out and "line_env.py" in out and "did you mean 'make_env'" in out, out


def test_running_the_suite_imports_no_panda_env_pybullet_or_sb3(project):
    code = (
        "import sys, pytest\n"
        f"rc = pytest.main({[*SUITE_ARGS, '-q', '-k', 'not sb3_checker']!r})\n"
        f"loaded = [name for name in {FORBIDDEN_AT_RUN_TIME!r} if name in sys.modules]\n"
        "print('FORBIDDEN LOADED:', loaded, '| torch loaded:', 'torch' in sys.modules)\n"
        "sys.exit(int(rc) or (3 if loaded else 0))\n"
    )
    result = _run(["-c", code], project)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    # the run used the engines (torch is the parity reference), so the check is not vacuous
    assert "FORBIDDEN LOADED: [] | torch loaded: True" in out, out


# --------------------------------------------------------------------------- import graph of the source


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import in ``tree``, nested ones and ``import_module("...")`` calls included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
            found.append((node.lineno, node.args[0].value))
    return found


def _names(module: str, top: str) -> bool:
    return module == top or module.startswith(top + ".")


def _violations(source: str, path: str, may_import_pytest: bool) -> list[str]:
    problems = []
    for line, module in _imported_modules(ast.parse(source, filename=path)):
        if _names(module, "panda_env"):
            problems.append(f"{path}:{line} imports {module} (pytest_drlreward never imports panda_env)")
        if not may_import_pytest and (_names(module, "pytest") or _names(module, "_pytest")):
            problems.append(f"{path}:{line} imports {module} (only the plugin-side modules may import pytest)")
    return problems


def _is_pytest_side(relative: Path) -> bool:
    return len(relative.parts) > 1 and relative.parts[0] in PYTEST_SIDE_DIRS


def test_core_source_never_imports_panda_env_and_only_plugin_modules_import_pytest():
    files = sorted(PACKAGE.rglob("*.py"))
    relative = {path.relative_to(PACKAGE).as_posix() for path in files}
    assert {"checks/parity.py", "classifier/export.py", "backends/registry.py", "plugin/__init__.py"} <= relative  # walked the package
    problems = []
    for path in files:
        rel = path.relative_to(PACKAGE)
        problems += _violations(path.read_text(), f"pytest_drlreward/{rel.as_posix()}", _is_pytest_side(rel))
    assert not problems, "\n".join(problems)


def test_import_graph_check_catches_nested_and_dynamic_imports():
    source = (
        "import numpy\n"
        "import pytest_drlreward.checks\n"
        "def f():\n"
        "    from panda_env.reward import model\n"
        "    import pytest\n"
        "    import importlib\n"
        "    importlib.import_module('panda_env.sim')\n"
        "class C:\n"
        "    def g(self):\n"
        "        from _pytest.monkeypatch import MonkeyPatch\n"
    )
    problems = _violations(source, "core.py", may_import_pytest=False)
    assert [p.split(" imports ")[0] for p in problems] == ["core.py:4", "core.py:5", "core.py:7", "core.py:10"]
    assert _violations(source, "core.py", may_import_pytest=True) == [problems[0], problems[2]]
    assert _is_pytest_side(Path("suite/test_contract.py")) and _is_pytest_side(Path("plugin/options.py"))
    assert not _is_pytest_side(Path("checks/parity.py")) and not _is_pytest_side(Path("backends/options.py"))
    assert not _is_pytest_side(Path("plugin.py")) and not _is_pytest_side(Path("util/settings.py"))


# --------------------------------------------------------------------------- export_classifier


def test_export_with_forward_x_and_one_example_image_runs_at_any_batch_size(project, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from pytest_drlreward import load_backend

    tiny_model = _load_tiny_model(monkeypatch, project)
    torch.manual_seed(0)
    model = tiny_model.build().eval()
    images = np.random.default_rng(0).integers(0, 256, size=(5, 16, 16, 3), dtype=np.uint8)
    out = tmp_path / "exported"
    written = pytest_drlreward.export_classifier(model, images[:1], out, torch_factory="tiny_model:build")
    assert written.path == out and written.image_shape == (16, 16, 3)
    assert written.metadata["format_version"] == 2 and written.metadata["inputs"][0]["shape"] == [None, 16, 16, 3]
    onnxruntime = load_backend("onnxruntime", out)
    for batch in (1, 5):
        with torch.inference_mode():
            expected = model(torch.from_numpy(images[:batch])).numpy()
        got = onnxruntime.logits(images[:batch])
        assert got.shape == (batch, 2) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-4, err_msg=f"batch {batch}")
    reference = load_backend("torch", out)  # the state dict rebuilds through torch_factory
    np.testing.assert_allclose(reference.logits(images), onnxruntime.logits(images), atol=1e-5, rtol=1e-4)
