"""Issue 20 case 9: locks are flocks the kernel releases when the holder dies, never a pid in a file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from panda_env.training.run_dir import LOCK_FILE, locked_run_dir
from pytest_drlreward.util.locking import exclusive_lock, is_locked

HOLDER = ("import sys, time\nfrom panda_env.training.run_dir import locked_run_dir\n"
          "with locked_run_dir(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(120)\n")



def _second_run_is_refused_while(holder: subprocess.Popen, out) -> None:
    """While ``holder`` (a process that printed "locked") holds ``out``'s lock, a second run is refused; then it is killed."""
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert is_locked(out / LOCK_FILE)
        with pytest.raises(FileExistsError, match="another run is writing to"):
            with locked_run_dir(out):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_run_killed_with_its_lock_held_frees_it_and_a_live_one_is_refused(tmp_path):
    out = tmp_path / "run"
    _second_run_is_refused_while(subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE,
                                                  text=True), out)
    assert (out / LOCK_FILE).exists() and not is_locked(out / LOCK_FILE)  # left by the killed run, but free
    with locked_run_dir(out) as taken:
        assert taken == out
    assert not (out / LOCK_FILE).exists()


def test_a_lock_file_naming_a_live_pid_is_not_a_lock(tmp_path):
    (tmp_path / LOCK_FILE).write_text("1")  # after a container restart pid 1 is alive again
    with locked_run_dir(tmp_path, overwrite=True):
        assert is_locked(tmp_path / LOCK_FILE)


def test_exclusive_lock_names_the_holder_in_its_error(tmp_path):
    with exclusive_lock(tmp_path / "x.lock", "busy: x"):
        with pytest.raises(FileExistsError, match="busy: x"):
            with exclusive_lock(tmp_path / "x.lock", "busy: x"):
                pass


def test_a_holder_in_another_pid_namespace_is_seen(tmp_path):
    """From two PID namespaces a pid means nothing; the flock is still seen (needs unshare and the right to use it)."""
    import os
    import shutil

    if shutil.which("unshare") is None or subprocess.run(["unshare", "--pid", "--fork", "true"],
                                                         capture_output=True).returncode != 0:
        pytest.skip("cannot create a PID namespace here (unshare --pid)")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    _second_run_is_refused_while(subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", sys.executable, "-c",
                                                   HOLDER, str(out)], stdout=subprocess.PIPE, text=True, env=env), out)
