"""Shared test helpers: copies of the shipped classifier directory and re-hashing after a deliberate edit.

Fakes (backends, small envs) live in ``fakes.py``; Hypothesis profiles in the root ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pytest_drlreward.classifier import METADATA_FILE, ONNX_FILE, sha256_of

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "panda_env" / "models" / "default"


def rehash(model_dir: Path, *names: str) -> None:
    """Write the current sha256 of ``names`` into ``model_dir``'s metadata (after a deliberate edit)."""
    meta_path = Path(model_dir) / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    for name in names:
        metadata["files"][name] = sha256_of(Path(model_dir) / name)
    meta_path.write_text(json.dumps(metadata, indent=2))


def scale_largest_onnx_weight(model_dir: Path, factor: float = 1.01) -> None:
    """Change ``model_dir``'s ONNX graph: its largest weight tensor times ``factor``; metadata re-hashed."""
    import onnx
    from onnx import numpy_helper

    path = Path(model_dir) / ONNX_FILE
    graph = onnx.load(str(path))
    weight = max(graph.graph.initializer, key=lambda t: np.prod(t.dims))
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * np.float32(factor), weight.name))
    onnx.save(graph, str(path))
    rehash(model_dir, ONNX_FILE)


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist, torch in each worker gets its share of the cores instead of all of them: two workers
    each running torch on every core slow each other down by an order of magnitude."""
    if hasattr(config, "workerinput"):
        import torch

        workers = int(config.workerinput.get("workercount", 1))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped classifier directory (its INT8 model included)."""
    return Path(shutil.copytree(SHIPPED_MODEL, tmp_path / "classifier"))


@pytest.fixture
def copy_model(tmp_path: Path) -> Callable[[str], Path]:
    """``copy_model(name)``: another private copy of the shipped classifier directory."""
    return lambda name: Path(shutil.copytree(SHIPPED_MODEL, tmp_path / name))


# -- results worth reading after a run (e.g. the success rates `pytest -m slow` checked) ------------------
_SUMMARIES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _SUMMARIES.extend(str(value) for key, value in report.user_properties if key == "summary")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _SUMMARIES and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("-", "results checked")
        for line in _SUMMARIES:
            terminalreporter.write_line(line)


# -- fixtures of the reliability tests (runs, CLI, plugin outputs) --------------------------------------

@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory) -> Path:
    """A finished run directory (oracle reward, a few steps)."""
    from panda_env.training import sac

    out = tmp_path_factory.mktemp("runs") / "run"
    sac.train("oracle", steps=60, out_dir=out, eval_episodes=0)
    return out


@pytest.fixture
def no_learning(monkeypatch):
    """Fails the test if training starts: a check must refuse before the long work."""
    from panda_env.training import sac

    def refuse(*args, **kwargs):
        raise AssertionError("training started although the run should have been refused first")

    monkeypatch.setattr(sac, "_learn", refuse)


@pytest.fixture
def unwritable(monkeypatch):
    """Make probe files fail with EROFS, as on a read-only directory (chmod does not stop root)."""
    import tempfile

    real = tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and "readonly" in str(dir):
            raise OSError(30, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
