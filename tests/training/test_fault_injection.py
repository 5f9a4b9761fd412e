"""Fault injection: ``train`` killed (SIGKILL) at moments chosen by its progress never leaves an unloadable agent.

The kill points are read from the run's own output, not from the clock, so the test holds on a busy
machine: ``train --steps 200`` logs a table header when training starts and a row every 40 steps
(40 ... 200), then saves. Each attempt is killed in one of three phases:
- ``training``: at once after the header or one of the rows up to step 160: the run is still training,
  so it must die by the kill (asserted, and counted);
- ``saving``: a random delay after the row at step 200, within the time saving took in a first full
  run: the kill lands while the agent, pictures or report are written, or after (either outcome counts);
- ``startup``: a random delay within the first second (interpreter start, imports, the run's lock).
After every attempt the earlier run's ``agent.zip`` must be whole and loadable.

Slow (21 short trainings in subprocesses, 2-4 minutes): ``pytest -m slow tests/training/test_fault_injection.py``.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from panda_env.training.evaluate import load_agent

PHASES = ["training"] * 10 + ["saving"] * 5 + ["startup"] * 5  # 20 kills
ROWS = ["header", "40", "80", "120", "160", "200"]  # the lines train --steps 200 logs while training


def _train(out: Path, seed: int, overwrite: bool) -> list[str]:
    return [sys.executable, "-m", "panda_env", "train", "--backend", "oracle", "--steps", "200", "--eval-episodes",
            "0", "--seed", str(seed), "--out", str(out), *(["--overwrite"] if overwrite else [])]


def _start(out: Path, seed: int, overwrite: bool) -> subprocess.Popen:
    return subprocess.Popen(_train(out, seed, overwrite), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(process: subprocess.Popen, index: int) -> None:
    """Read the run's stdout up to its ``index``-th line (0: the table header)."""
    for seen in range(index + 1):
        line = process.stdout.readline()
        assert line, f"the run ended before its line {ROWS[index]!r} ({seen} lines read)"
        first = line.split()[0]
        assert first == ("step" if seen == 0 else ROWS[seen]), line


@pytest.mark.slow
def test_train_killed_at_chosen_moments_leaves_only_loadable_agents(tmp_path):
    out = tmp_path / "run"
    first = _start(out, 0, overwrite=False)
    _wait_for_line(first, len(ROWS) - 1)
    last_row = time.perf_counter()
    _, err = first.communicate()
    saving_s = time.perf_counter() - last_row  # after the last row: saving the agent, pictures, report
    assert first.returncode == 0, err[-2000:]
    rng = random.Random(0)
    phases = rng.sample(PHASES, len(PHASES))
    outcomes = {"training": {"killed": 0, "finished": 0}, "saving": {"killed": 0, "finished": 0},
                "startup": {"killed": 0, "finished": 0}}
    for attempt, phase in enumerate(phases, start=1):
        process = _start(out, attempt, overwrite=True)
        if phase == "training":
            _wait_for_line(process, rng.randrange(len(ROWS) - 1))
        elif phase == "saving":
            _wait_for_line(process, len(ROWS) - 1)
            time.sleep(rng.uniform(0.0, saving_s))
        else:
            time.sleep(rng.uniform(0.0, 1.0))
        process.kill()
        _, err = process.communicate()
        assert process.returncode in (0, -9), err[-2000:]
        outcomes[phase]["finished" if process.returncode == 0 else "killed"] += 1
        if phase == "training":
            assert process.returncode == -9, f"attempt {attempt}: a run killed while training finished"
        agent = out / "agent.zip"
        assert agent.is_file(), f"attempt {attempt} ({phase}): the earlier run's agent.zip is gone"
        load_agent(agent)  # raises if the file is partial
    assert outcomes["training"]["killed"] == PHASES.count("training"), outcomes
    # the next run cleans what killed runs left (their lock and temporaries)
    subprocess.run(_train(out, 99, overwrite=True), check=True, capture_output=True)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    print(f"outcomes per phase: {outcomes}; saving took {saving_s:.2f} s in the first run")
