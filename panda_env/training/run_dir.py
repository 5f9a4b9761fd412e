"""A training run's output directory: checked before the long work, one writer at a time, never
overwritten without being asked.

``locked_run_dir(out, overwrite)`` checks that ``out`` can be written (an existing file in the path, a
read-only directory and an earlier run are refused before anything is trained), creates it, and holds
``out/.train.lock`` (created exclusively, holding the writer's pid) until the run ends: a second
``train`` into the same directory is refused while the first runs. A lock left by a killed run (its
process is gone) is taken over.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from pytest_drlreward.atomic import check_writable, process_alive

RUN_FILES = ("agent.zip", "report.json", "learning_curve.png", "time_split.png", "episode.gif")
LOCK_FILE = ".train.lock"


def check_run_dir(out: str | Path, overwrite: bool = False) -> Path:
    """Raise unless ``out`` can receive a run: writable, and holding no earlier run unless ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output directory {out} is a file; choose another --out")
    check_writable(out)
    earlier = [name for name in RUN_FILES if (out / name).exists()]
    if earlier and not overwrite:
        raise FileExistsError(f"{out} already holds a run ({', '.join(earlier)}); pass --overwrite to replace it, "
                              f"or choose another --out")
    return out


def _acquire(lock: Path) -> None:
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            text = lock.read_text().strip() if lock.exists() else ""
            if text.isdigit() and process_alive(int(text)):
                raise FileExistsError(f"another run (pid {text}) is writing to {lock.parent}; wait for it to end "
                                      f"or choose another --out") from None
            lock.unlink(missing_ok=True)  # left by a run that was killed: take it over
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        return
    raise FileExistsError(f"could not take the lock {lock}; another run keeps taking it")


@contextlib.contextmanager
def locked_run_dir(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Check ``out``, create it and hold its lock for the duration of the block."""
    out = check_run_dir(out, overwrite)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_FILE
    try:
        _acquire(lock)
    except BaseException:
        if created:
            out.rmdir()
        raise
    try:
        check_run_dir(out, overwrite)  # again under the lock: a run may have finished in between
        yield out
    finally:
        lock.unlink(missing_ok=True)
        if created and not any(out.iterdir()):
            out.rmdir()  # a run that saved nothing leaves nothing
