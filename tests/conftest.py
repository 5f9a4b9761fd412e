"""Shared fixtures and hooks of the tests in every folder below ``tests/``: copies of the shipped classifier
directory, an earlier run, no learning, an unwritable directory.

Helpers are modules beside this file (on sys.path through pyproject's ``pythonpath``): ``repo_paths``
(where things are), ``model_edits`` (re-hashing, another weight), ``fakes`` (backends, small envs),
``reward_models`` (classifiers of other shapes); Hypothesis profiles are in the root ``conftest.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from repo_paths import SHIPPED_MODEL


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
    sac.train("oracle", steps=64, out_dir=out, eval_episodes=0)  # 8 rollouts of 8 steps (2 envs, train_freq 4)
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
