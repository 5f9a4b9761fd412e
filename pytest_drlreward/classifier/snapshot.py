"""Read a directory's files once, through one open directory, following no symlink: the bytes that are hashed
are the bytes an engine gets, so a file swapped between the check and the load cannot run.

Every path is opened relative to the directory's file descriptor (``openat``), one component at a time with
``O_NOFOLLOW``: all files come from the one directory opened (a writer swapping the directory meanwhile
cannot mix two copies), and a symlink anywhere is refused, naming it. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from pytest_drlreward.classifier.metadata import ModelDirError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _relative_parts(name: str, where: Path) -> list[str]:
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
        raise ModelDirError(f"{where}: file name {name!r} must be relative to the directory")
    return list(parts)


def read_file(dir_fd: int, name: str, directory: Path, where: Path) -> bytes:
    """The bytes of ``name`` (relative, ``/``-separated) under the open directory ``dir_fd``; ModelDirError for a
    missing file, a symlink or anything but a regular file (``where``: the file that lists it)."""
    parts, opened = _relative_parts(name, where), []
    try:
        fd = dir_fd
        for part in parts[:-1]:
            fd = os.open(part, os.O_RDONLY | os.O_CLOEXEC | _DIRECTORY | _NOFOLLOW, dir_fd=fd)
            opened.append(fd)
        fd = os.open(parts[-1], os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=fd)
        opened.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelDirError(f"{directory / name} is not a regular file (listed in {where}); remove it")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ModelDirError(f"{directory / name} is missing (listed in {where})") from None
    except OSError:  # ELOOP / ENOTDIR: a symlink on the way
        if any(os.path.islink(directory.joinpath(*parts[: i + 1])) for i in range(len(parts))):
            raise ModelDirError(f"{directory / name} is or passes through a symlink; a classifier directory may hold "
                                f"no symlinks (copy the file in)") from None
        raise
    finally:
        for fd in opened:
            os.close(fd)


def read_listed(dir_fd: int, files: dict[str, str], directory: Path, where: Path) -> dict[str, bytes]:
    """Each listed file's bytes, read once and checked against its sha256 in ``files``."""
    blobs = {}
    for name, expected in files.items():
        data = read_file(dir_fd, name, directory, where)
        if sha256_bytes(data) != expected:
            raise ModelDirError(f"{directory / name} does not match the sha256 in {where}: the file was changed or "
                                f"corrupted; export the classifier again")
        blobs[PurePosixPath(name).as_posix()] = data
    return blobs


def entries(dir_fd: int, directory: Path) -> list[str]:
    """Every file under the open directory (``/``-separated, sorted); ModelDirError naming a symlink or a special
    file (a fifo, a device) anywhere in it."""
    names = []
    for root, dirs, files, root_fd in os.fwalk(".", dir_fd=dir_fd, follow_symlinks=False):
        for name in sorted([*dirs, *files]):
            mode = os.stat(name, dir_fd=root_fd, follow_symlinks=False).st_mode
            relative = PurePosixPath(root, name).as_posix().removeprefix("./")
            if stat.S_ISLNK(mode):
                raise ModelDirError(f"{directory / relative} is a symlink; a classifier directory may hold no "
                                    f"symlinks (an engine would follow it outside the hashed files): copy the file in")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ModelDirError(f"{directory / relative} is not a regular file or directory; remove it")
            if stat.S_ISREG(mode):
                names.append(relative)
        dirs.sort()
    return sorted(names)
