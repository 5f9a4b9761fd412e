"""Atomic writes: a file or a directory appears complete under its name, or not at all, whatever kills the writer.

Everything is written under a temporary sibling name (``.NAME.tmp-PID-*``) that its writer holds an
``fcntl.flock`` on, and renamed into place; a failure removes the temporary. A directory replaces an
existing one by an atomic swap (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere: the old one renamed
aside, the new one in, the old one removed, and an aside copy restored by the next write if a kill left
the name empty), so under every SIGKILL the name holds the old or the new directory, and a reader
never sees it missing. Writers of one directory exclude each other by a lock on ``.NAME.lock`` (the
kernel releases it when its holder dies, whatever its pid namespace): the second gets
:class:`ConcurrentWriteError`. A temporary is removed as stale only when no process holds its lock
and its pid runs no more. A full disk is one :class:`DiskFullError` line naming the path and what was
kept. Files get ordinary permissions (``0o666`` less the umask, as ``open`` gives).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_drlreward.util.locking import exclusive_lock, is_locked, lock_fd
from pytest_drlreward.util.stable_read import read_directory, read_stable, wait_for_readers  # noqa: F401  (re-exported)

__all__ = ["ConcurrentWriteError", "DiskFullError", "atomic_directory", "atomic_file", "check_target", "check_writable",
           "exchange", "process_alive", "read_directory", "read_stable", "remove_stale_temporaries", "write_text_atomic"]

RENAME_EXCHANGE = 2
AT_FDCWD = -100
FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class ConcurrentWriteError(FileExistsError):
    """Another process is writing the same output right now."""


class DiskFullError(OSError):
    """The disk filled up during a write; nothing half-written was left under the target's name."""

    def __init__(self, target: Path, kept: str) -> None:
        super().__init__(errno.ENOSPC, f"no space left on the device while writing {target}: nothing was written, "
                                       f"{kept}; free some space and run again")
        self.target = target

    def __str__(self) -> str:
        return str(self.strerror)


def _prefix(target: Path, pid: int | None = None) -> str:
    return f".{target.name}.tmp-{os.getpid() if pid is None else pid}-"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove temporaries of ``target`` whose writer is gone (no lock held, pid not running); return them."""
    target = Path(target)
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for candidate in target.parent.glob(f".{glob.escape(target.name)}.tmp-*-*"):
        pid_text = candidate.name[len(f".{target.name}.tmp-"):].split("-", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)) and not is_locked(candidate):
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate, ignore_errors=True)
            else:
                candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(directory: str | Path) -> None:
    """Raise unless files can be created in ``directory`` (or, before it exists, in its nearest parent)."""
    directory = Path(directory)
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"cannot create {directory}: {existing} is a file; choose another output path")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise PermissionError(f"cannot write to {existing}: creating a file there failed ({error.strerror}); "
                              f"choose another output path") from None


def check_target(target: str | Path, overwrite: bool = False) -> Path:
    """Raise if ``target`` cannot become an output directory (call it before long work, too)."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} exists and is not a directory; choose another output path")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(f"{target} exists and is not empty; remove it, choose another output path "
                              f"or allow overwriting (--overwrite)")
    return target


_renameat2: Any = None


def exchange(a: str | Path, b: str | Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step (Linux ``renameat2``); False where it is not supported."""
    global _renameat2
    if not sys.platform.startswith("linux"):
        return False
    if _renameat2 is None:
        try:
            _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
        except (OSError, AttributeError):
            _renameat2 = False
        else:
            _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if _renameat2 is False:
        return False
    if _renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _aside(target: Path) -> str:
    return f".{target.name}.old-"


def _restore_or_remove_asides(target: Path) -> None:
    """Under the target's lock: an old copy set aside by a writer killed mid-swap is put back if the name is
    empty, else removed."""
    for aside in sorted(target.parent.glob(f"{glob.escape(_aside(target))}*")):
        if not target.exists():
            os.rename(aside, target)
        else:
            shutil.rmtree(aside, ignore_errors=True)


def _swap_in(tmp: Path, target: Path, overwrite: bool) -> None:
    """Put the finished ``tmp`` under ``target``'s name; the old directory (if any) is removed after."""
    try:
        os.rename(tmp, target)  # no target (or an empty one): done in one step
        return
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    check_target(target, overwrite)
    if exchange(tmp, target):
        old = tmp  # the swap left the old directory under the temporary's name
    else:
        old = Path(tempfile.mkdtemp(prefix=_aside(target), dir=target.parent))
        os.rename(target, old)  # onto the empty directory just made; a kill now leaves it for the next write
        os.rename(tmp, target)
    wait_for_readers(old)  # a reader holding the old copy finishes first
    shutil.rmtree(old, ignore_errors=True)


def _kept(target: Path) -> str:
    return f"{target} still holds the previous copy" if target.exists() else f"{target} was not created"


@contextlib.contextmanager
def atomic_directory(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory next to ``target``; it replaces ``target`` atomically on success.

    Raises :class:`ConcurrentWriteError` if another process writes ``target`` now, :class:`DiskFullError`
    if the disk fills up (the old directory is kept).
    """
    target = check_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / f".{target.name}.lock"
    busy = f"another process is writing {target} right now (it holds {lock}); wait for it or choose another output path"
    with exclusive_lock(lock, busy, error=ConcurrentWriteError):
        _restore_or_remove_asides(target)
        check_target(target, overwrite)
        remove_stale_temporaries(target)
        tmp = Path(tempfile.mkdtemp(prefix=_prefix(target), dir=target.parent))
        fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
        lock_fd(fd)  # held until the end: marks the temporary as live
        try:
            tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private
            yield tmp
            _swap_in(tmp, target, overwrite)
        except BaseException as error:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(error, OSError) and error.errno in FULL and not isinstance(error, DiskFullError):
                raise DiskFullError(target, _kept(target)) from None
            raise
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` (same suffix) to write; rename it to ``target`` on success.

    The parent directory must exist: it is not created silently. A full disk is a :class:`DiskFullError`.
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: directory {target.parent} does not exist")
    remove_stale_temporaries(target)
    fd, name = tempfile.mkstemp(prefix=_prefix(target), suffix=target.suffix, dir=target.parent)
    lock_fd(fd)  # held until the end: marks the temporary as live
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private
        os.replace(tmp, target)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in FULL and not isinstance(error, DiskFullError):
            raise DiskFullError(target, _kept(target)) from None
        raise
    finally:
        os.close(fd)


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` to ``target`` through a temporary file in the same directory."""
    with atomic_file(target) as tmp:
        tmp.write_text(text)
    return Path(target)
