"""Reading a directory that a writer of ``pytest_drlreward.util.atomic`` may replace meanwhile: one copy, never a mix.

The reader opens the directory once and reads every file relative to that descriptor, holding a shared
``flock`` on it; the writer that replaced the copy takes an exclusive ``flock`` on it before removing it,
so a read in progress finishes first. Standard library only.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def _open_current(path: str | Path, deadline: float) -> int:
    """An fd of the directory now at ``path``, shared-locked (a writer removing it waits for the read), still there."""
    while True:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:  # its writer is finishing (removing the copy it replaced)
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
                except OSError:  # a file system without flock: the swap check below still holds
                    break
            info, now = os.fstat(fd), os.stat(path)
        except BaseException:
            os.close(fd)
            raise
        if (info.st_dev, info.st_ino) == (now.st_dev, now.st_ino) or time.monotonic() > deadline:
            return fd
        os.close(fd)  # swapped while we locked it: open the new copy


def read_directory(path: str | Path, read: Callable[[int], T], timeout_s: float = 120.0) -> T:
    """``read(dir_fd)`` of the directory at ``path``, which a writer may swap meanwhile: ``read`` opens every file
    relative to ``dir_fd`` (``os.open(name, dir_fd=...)``, or the path ``/proc/self/fd/N`` on Linux), so it reads
    one copy, never a mix; the shared flock it holds makes a writer wait before removing that copy. A read that
    still fails while the directory was swapped (a copy removed before the lock) is tried again, until
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        fd = _open_current(path, deadline)
        try:
            return read(fd)
        except (OSError, ValueError):
            try:
                swapped = os.fstat(fd).st_nlink == 0 or (os.fstat(fd).st_ino != os.stat(path).st_ino)
            except OSError:
                swapped = True
            if not swapped or time.monotonic() > deadline:
                raise
        finally:
            os.close(fd)


def wait_for_readers(directory: str | Path, timeout_s: float = 60.0) -> None:
    """Wait (up to ``timeout_s``) until no reader of :func:`read_directory` holds ``directory`` (before removing a
    replaced copy)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                time.sleep(0.005)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_stable(path: str | Path, read: Callable[[], T], attempts: int = 5) -> T:
    """``read()`` of a directory that a writer may swap meanwhile: read again while the directory changed
    under ``path`` during the read. ``read`` opens files by ``path``, so prefer :func:`read_directory`,
    which gives it the very directory opened."""
    def inode() -> tuple[int, int] | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    for attempt in range(attempts):
        before = inode()
        try:
            result = read()
        except (OSError, ValueError):
            if inode() == before or attempt == attempts - 1:
                raise
            continue
        if inode() == before:
            return result
    return result
