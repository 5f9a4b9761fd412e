"""Locks that die with their holder: ``fcntl.flock`` on a lock file, never a pid written in it.

The kernel releases a flock when the process holding it ends, however it ends (SIGKILL included) and
whatever pid namespace it ran in, so a lock left behind by a dead process is free, and a live holder
in another container is still seen. The lock file is removed on release; a process that opened it just
before checks that the file it locked is still the one under the name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["exclusive_lock", "is_locked", "lock_fd"]


def lock_fd(fd: int) -> bool:
    """Take an exclusive flock on ``fd`` without waiting; whether it was taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def is_locked(path: str | Path) -> bool:
    """Whether a live process holds a flock on ``path`` (a file or a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return not lock_fd(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(path: str | Path, busy: str, note: str = "",
                   error: type[FileExistsError] = FileExistsError) -> Iterator[int]:
    """Hold an exclusive flock on lock file ``path`` for the block (``error(busy)`` if another process holds
    it); ``note`` is written into the file for people who look. The file is removed after."""
    path = Path(path)
    for _ in range(20):
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
        if not lock_fd(fd):
            os.close(fd)
            raise error(busy)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # its holder removed the file as we opened it: lock the new one
    else:
        raise error(busy)
    try:
        if note:
            os.ftruncate(fd, 0)
            os.write(fd, note.encode())
        yield fd
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
