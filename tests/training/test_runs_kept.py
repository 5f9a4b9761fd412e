"""Runs are never lost and never overwritten: the run directory, its lock, SIGINT and SIGKILL, atomic writes.

Split from the former test_reliability.py; each test fails without the fix it names.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from panda_env.cli import main
from panda_env.training import sac
from panda_env.training.run_dir import LOCK_FILE
from pytest_drlreward.util.atomic import atomic_directory, atomic_file

RUN = ["agent.zip", "audit", "learning_curve.png", "report.json", "time_split.png"]  # a run without evaluation


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_train_refuses_an_earlier_run_unless_overwrite(earlier_run, capsys, no_learning):
    before = _digest(earlier_run / "agent.zip")
    assert main(["train", "--backend", "oracle", "--steps", "10", "--out", str(earlier_run)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (agent.zip, report.json, learning_curve.png, time_split.png)" in err
    assert "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert _digest(earlier_run / "agent.zip") == before


def test_overwrite_replaces_an_earlier_run(tmp_path):
    sac.train("oracle", steps=40, out_dir=tmp_path, eval_episodes=0)
    first = _digest(tmp_path / "agent.zip")
    sac.train("oracle", steps=40, seed=1, out_dir=tmp_path, eval_episodes=0, overwrite=True)
    assert _digest(tmp_path / "agent.zip") != first
    assert sorted(p.name for p in tmp_path.iterdir()) == RUN  # no lock, no temporary


@pytest.mark.parametrize("args", [["--out", "afile/sub"], ["--out", "readonly/run"]], ids=["under-a-file", "read-only"])
def test_output_problems_are_refused_before_training(tmp_path, monkeypatch, capsys, no_learning, unwritable, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    (tmp_path / "readonly").mkdir()
    assert main(["train", "--backend", "oracle", "--steps", "10", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("panda_env train: error: cannot ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "readonly" / "run").exists()


def test_bad_eval_episodes_is_refused_before_training(tmp_path, no_learning):
    with pytest.raises(ValueError, match="eval_episodes must be an integer >= 0, got -1"):
        sac.train("oracle", steps=10, out_dir=tmp_path / "run", eval_episodes=-1)
    with pytest.raises(SystemExit):
        main(["train", "--eval-episodes", "-1"])
    assert not (tmp_path / "run").exists()


def test_the_agent_is_saved_before_the_evaluation(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sac, "evaluate_policy_success", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sac.train("oracle", steps=40, out_dir=tmp_path, eval_episodes=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.zip", "audit", "learning_curve.png", "time_split.png"]
    # the agent and its pictures are kept; no report (written after the evaluation), no lock
    from panda_env.training.evaluate import load_agent

    load_agent(tmp_path / "agent.zip")


def test_a_second_run_into_a_locked_directory_is_refused_and_a_stale_lock_is_taken_over(tmp_path, no_learning,
                                                                                         monkeypatch):
    import fcntl

    holder = os.open(tmp_path / LOCK_FILE, os.O_CREAT | os.O_RDWR)  # a live writer holds the flock
    fcntl.flock(holder, fcntl.LOCK_EX)
    with pytest.raises(FileExistsError, match="another run is writing to .* holds the lock"):
        sac.train("oracle", steps=10, out_dir=tmp_path, eval_episodes=0)
    os.close(holder)  # the kernel releases it, as when the holder is killed
    (tmp_path / LOCK_FILE).write_text("1")  # issue 20: a pid that is alive again after a restart is no lock
    monkeypatch.undo()
    sac.train("oracle", steps=10, out_dir=tmp_path, eval_episodes=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == RUN


def test_sigint_during_training_keeps_the_agent_trained_so_far(tmp_path):
    """Ctrl-C during train saves a complete, loadable agent and a report marked interrupted (issue 21)."""
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "panda_env", "train", "--backend", "oracle", "--steps",
                                "2000", "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().split() == ["step", "episodes", "mean", "return", "true-goal", "success"]
    assert process.stdout.readline().split()[0] == "400"  # the first row: well into training, 1600 steps to go
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True and 400 <= report["steps"] < 2000
    assert report["evaluation"] == {}
    assert f"panda_env train: interrupted after {report['steps']} steps (no evaluation): kept the agent" in err
    from panda_env.training.evaluate import load_agent

    assert load_agent(out / "agent.zip").num_timesteps == report["steps"]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no lock, no temporaries


def test_atomic_writes_survive_sigkill_and_the_next_write_removes_the_leftover(tmp_path):
    """A writer killed mid-write leaves the old file whole and a temporary, which the next write removes."""
    target = tmp_path / "agent.zip"
    target.write_bytes(b"old run")
    writer = (
        "import sys, time\n"
        "from pytest_drlreward.util.atomic import atomic_file\n"
        f"with atomic_file({str(target)!r}) as tmp:\n"
        "    tmp.write_bytes(b'half')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    process.kill()
    process.wait()
    assert target.read_bytes() == b"old run"
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".agent.zip.tmp-")]
    assert len(leftovers) == 1
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"new run")
    assert target.read_bytes() == b"new run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.zip"]


def test_stale_temporary_directories_are_removed_and_live_ones_kept(tmp_path):
    stale = tmp_path / f".model.tmp-{_dead_pid()}-abc"
    live = tmp_path / f".model.tmp-{os.getpid()}-xyz"
    stale.mkdir()
    live.mkdir()
    with atomic_directory(tmp_path / "model") as tmp:
        (tmp / "file").write_text("x")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "model" / "file").read_text() == "x"


def test_atomic_files_get_ordinary_permissions(tmp_path):
    with atomic_file(tmp_path / "report.json") as tmp:
        tmp.write_text("{}")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o666 & ~mask
