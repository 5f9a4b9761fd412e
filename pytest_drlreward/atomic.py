"""Atomic writes: a file or a directory appears complete under its name, or not at all.

Everything is written under a temporary sibling name (``.NAME.tmp-PID-*``) and renamed into place; a
failure removes the temporary. A process killed outright (SIGKILL) cannot clean up, so the next write
to the same target removes temporaries whose process is gone. Files get ordinary permissions (``0o666``
less the umask, as ``open`` gives).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_directory", "atomic_file", "check_target", "check_writable", "process_alive", "remove_stale_temporaries",
           "write_text_atomic"]


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
    """Remove temporaries of ``target`` left by processes that no longer run; return what was removed."""
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for candidate in target.parent.glob(f".{glob.escape(target.name)}.tmp-*-*"):
        pid_text = candidate.name[len(f".{target.name}.tmp-"):].split("-", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)):
            if candidate.is_dir():
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


@contextlib.contextmanager
def atomic_directory(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory next to ``target``; rename it to ``target`` on success."""
    target = check_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(target), dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` (same suffix) to write; rename it to ``target`` on success.

    The parent directory must exist: it is not created silently.
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: directory {target.parent} does not exist")
    remove_stale_temporaries(target)
    fd, name = tempfile.mkstemp(prefix=_prefix(target), suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` to ``target`` through a temporary file in the same directory."""
    with atomic_file(target) as tmp:
        tmp.write_text(text)
    return Path(target)
