"""Fault injection: ``train`` killed (SIGKILL) at random moments never leaves an unloadable agent.

Slow (about 20 short trainings in subprocesses): run with ``pytest -m slow tests/test_fault_injection.py``.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from panda_env.training.evaluate import load_agent

KILLS = 20


def _train(out: Path, seed: int, overwrite: bool) -> list[str]:
    return [sys.executable, "-m", "panda_env", "train", "--backend", "oracle", "--steps", "200", "--eval-episodes",
            "0", "--seed", str(seed), "--out", str(out), *(["--overwrite"] if overwrite else [])]


@pytest.mark.slow
def test_train_killed_at_random_moments_leaves_only_loadable_agents(tmp_path):
    out = tmp_path / "run"
    start = time.perf_counter()
    subprocess.run(_train(out, 0, overwrite=False), check=True, capture_output=True)
    full_run_s = time.perf_counter() - start  # kills land anywhere in a run, saving included
    rng = random.Random(0)
    outcomes = {"killed": 0, "finished": 0}
    for attempt in range(1, KILLS + 1):
        process = subprocess.Popen(_train(out, attempt, overwrite=True), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.0, full_run_s))
        process.kill()
        _, err = process.communicate()
        outcomes["finished" if process.returncode == 0 else "killed"] += 1
        assert process.returncode in (0, -9), err.decode()[-2000:]
        agent = out / "agent.zip"
        assert agent.is_file(), f"attempt {attempt}: the earlier run's agent.zip is gone"
        load_agent(agent)  # raises if the file is partial
    assert outcomes["killed"] >= KILLS // 2, outcomes
    # the next run cleans what killed runs left (their lock and temporaries)
    subprocess.run(_train(out, 99, overwrite=True), check=True, capture_output=True)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
