"""A training run's output directory: checked before the long work, one writer at a time, never
overwritten without being asked.

``locked_run_dir(out, overwrite)`` checks that ``out`` can be written (an existing file in the path, a
read-only directory and an earlier run are refused before anything is trained), creates it, and holds
``out/.train.lock`` by ``fcntl.flock`` until the run ends (``pytest_drlreward.util.locking``): a second
``train`` into the same directory is refused while the first runs, even from another container. The
kernel releases the lock when its holder dies, so a lock file left by a killed run is simply taken over;
the pid written in it is for people only, never trusted.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from pytest_drlreward.util.atomic import check_writable
from pytest_drlreward.util.locking import exclusive_lock

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


@contextlib.contextmanager
def locked_run_dir(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Check ``out``, create it and hold its lock for the duration of the block."""
    out = check_run_dir(out, overwrite)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_FILE
    busy = f"another run is writing to {out} (it holds the lock {lock}); wait for it to end or choose another --out"
    try:
        with exclusive_lock(lock, busy, note=f"pid {os.getpid()}\n"):
            check_run_dir(out, overwrite)  # again under the lock: a run may have finished in between
            yield out
    finally:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a run that saved nothing leaves nothing
