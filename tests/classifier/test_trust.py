"""Issue 20, code execution from data: loading a classifier directory runs none of its code.

Each case writes a marker file if the directory's code ran; the marker must never appear, except
with the explicit opt-in (``trust_code=True`` / ``drl_trust_code``). Every directory here is a copy of
the downstream project's tiny classifier with a hostile edit, re-hashed so only the trust rules refuse it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import DOWNSTREAM

from pytest_drlreward.backends import load_backend
from pytest_drlreward.classifier import METADATA_FILE, ModelDirError, open_model_dir, sha256_of

TINY = DOWNSTREAM / "models" / "tiny"

pytest.importorskip("torch")


def _edit(model_dir: Path, **changes) -> None:
    meta_path = model_dir / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    metadata.update(changes)
    meta_path.write_text(json.dumps(metadata, indent=2))


def _list(model_dir: Path, *names: str) -> None:
    meta_path = model_dir / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    for name in names:
        metadata["files"][name] = sha256_of(model_dir / name)
    meta_path.write_text(json.dumps(metadata, indent=2))


def _copy(tmp_path: Path) -> Path:
    model = Path(shutil.copytree(TINY, tmp_path / "model"))
    (model / "labelled_images.npz").unlink()
    return model


def _os_system_dir(tmp_path: Path) -> tuple[Path, Path]:
    model, marker = _copy(tmp_path), tmp_path / "os_system_ran"
    _edit(model, torch_factory="os:system", torch_factory_kwargs={"command": f"touch {marker}"})
    return model, marker


def _in_directory_dir(tmp_path: Path, listed: bool = True) -> tuple[Path, Path]:
    """A package inside the directory whose import writes a marker; its factory builds the tiny CNN."""
    model, marker = _copy(tmp_path), tmp_path / "package_ran"
    package = model / "evilpkg"
    package.mkdir()
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (package / "factory.py").write_text("def build():\n    from tiny_model import TinyCNN\n    return TinyCNN()\n")
    _edit(model, torch_factory="evilpkg.factory:build")
    if listed:
        _list(model, "evilpkg/__init__.py", "evilpkg/factory.py")
    return model, marker


def test_os_system_factory_runs_nothing_on_load_backend(tmp_path):
    model, marker = _os_system_dir(tmp_path)
    with pytest.raises(ModelDirError, match=r"os:system.*standard library"):
        load_backend("torch", model)
    assert not marker.exists()


@pytest.mark.parametrize("spec", ["builtins:exec", "subprocess:run", "os.path:join", "torch.hub:load", "pickle:loads"])
def test_standard_library_builtin_and_loader_factories_are_refused(tmp_path, spec):
    model = _copy(tmp_path)
    _edit(model, torch_factory=spec)
    with pytest.raises(ModelDirError, match="torch_factory"):
        load_backend("torch", model)


def test_a_name_only_imported_into_a_module_is_refused(tmp_path):
    """``torch:load`` is bound in torch/__init__.py by an import, not defined there."""
    model = _copy(tmp_path)
    _edit(model, torch_factory="torch:load", torch_factory_kwargs={"f": "x.pt", "weights_only": False})
    with pytest.raises(ModelDirError, match="torch_factory"):
        load_backend("torch", model)


def test_a_factory_inside_the_directory_runs_only_when_trusted(tmp_path, monkeypatch):
    model, marker = _in_directory_dir(tmp_path)
    monkeypatch.syspath_prepend(str(model))  # importable from inside the directory, as a pythonpath entry makes it
    monkeypatch.syspath_prepend(str(DOWNSTREAM))
    with pytest.raises(ModelDirError, match=r"inside the classifier directory.*trust_code=True.*drl_trust_code"):
        load_backend("torch", model)
    from pytest_drlreward.plugin.preflight import check_model_dir

    with pytest.raises(ModelDirError, match="trust_code"):
        check_model_dir(model)
    assert not marker.exists()
    assert "evilpkg" not in sys.modules
    backend = load_backend("torch", model, trust_code=True)  # the opt-in: the package runs
    assert marker.exists() and backend.logits(__import__("numpy").zeros((1, 16, 16, 3), "uint8")).shape == (1, 2)
    for name in [n for n in sys.modules if n.startswith("evilpkg")]:
        del sys.modules[name]


def test_a_factory_inside_the_directory_is_found_when_trusted_without_a_path_entry(tmp_path, monkeypatch):
    model, marker = _in_directory_dir(tmp_path)
    monkeypatch.syspath_prepend(str(DOWNSTREAM))
    with pytest.raises(ModelDirError, match="trust_code"):
        load_backend("torch", model)
    assert not marker.exists()
    load_backend("torch", model, trust_code=True)
    assert marker.exists()
    for name in [n for n in sys.modules if n.startswith("evilpkg")]:
        del sys.modules[name]


def test_an_unlisted_package_in_the_directory_is_refused_by_name(tmp_path):
    model, marker = _in_directory_dir(tmp_path, listed=False)
    with pytest.raises(ModelDirError, match=r"not listed.*evilpkg/__init__.py"):
        open_model_dir(model)
    assert not marker.exists()


def _run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=project,
                          capture_output=True, text=True, timeout=600)


def _project(tmp_path: Path, model: Path, extra_ini: str = "") -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(DOWNSTREAM / "tiny_model.py", project)
    shutil.copy(DOWNSTREAM / "line_env.py", project)
    (project / "pytest.ini").write_text(
        f"[pytest]\npythonpath = . {model}\ndrl_model = {model}\ndrl_env = line_env:make_env\n"
        f"drl_backends = onnxruntime\n{extra_ini}")
    return project


@pytest.mark.parametrize("case", ["os_system", "in_directory"])
def test_collect_only_and_a_suite_run_execute_nothing(tmp_path, case):
    model, marker = (_os_system_dir if case == "os_system" else _in_directory_dir)(tmp_path)
    project = _project(tmp_path, model)
    for args in (["--collect-only", "--pyargs", "pytest_drlreward.suite"],
                 ["--pyargs", "pytest_drlreward.suite", "-x", "-m", "not timing"]):
        result = _run_pytest(project, *args)
        assert result.returncode == 4, result.stdout[-3000:] + result.stderr[-3000:]  # a usage error at start
        assert "torch_factory" in result.stderr, result.stderr[-3000:]
        assert not marker.exists(), args


def test_drl_trust_code_lets_the_in_directory_factory_load(tmp_path):
    model, marker = _in_directory_dir(tmp_path)
    project = _project(tmp_path, model, "drl_trust_code = true\n")
    (project / "test_load.py").write_text(
        "def test_reference_loads(reference_backend):\n    assert reference_backend.name == 'torch'\n")
    result = _run_pytest(project, "test_load.py", "-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert marker.exists()


def test_a_write_in_progress_inside_the_directory_is_not_an_unlisted_file(tmp_path):
    """quantize writes <model>/int8 through atomic_directory: its lock and temporary are not engine files."""
    model = _copy(tmp_path)
    (model / ".int8.lock").write_text("")
    (model / ".int8.tmp-123-abc").mkdir()
    (model / ".int8.tmp-123-abc" / "classifier_int8.xml").write_text("<net/>")
    open_model_dir(model)
    (model / ".hidden.onnx").write_text("x")
    with pytest.raises(ModelDirError, match=r"not listed.*\.hidden\.onnx"):
        open_model_dir(model)
