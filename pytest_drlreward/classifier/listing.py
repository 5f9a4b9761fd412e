"""Every file an engine may open is listed (and so hash-checked) in ``metadata.json``, or the directory is refused.

Two rules, checked when a directory is opened:

- no unlisted file: every file under the directory is in ``files``, except ``metadata.json`` itself,
  ``labelled_images.npz`` (read by numpy with ``allow_pickle=False``, never by an engine) and the
  ``int8/`` subdirectory's files listed in its own ``int8.json``, and the temporaries and locks of
  ``pytest_drlreward.atomic`` (``.NAME.tmp-PID-*``, ``.NAME.old-*``, ``.NAME.lock``: a write in progress
  or killed, which no engine opens);
- ONNX external data (tensors stored in side files, which ONNX Runtime and OpenVINO open by the
  path written in the graph) must name a relative path inside the directory that ``files`` lists.

``onnx`` is imported only when the ONNX file holds external-data references (a byte search first).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_drlreward.classifier.directory import METADATA_FILE, ONNX_FILE, ModelDirError

DATA_FILES = ("labelled_images.npz",)  # read without pickle by the plugin, opened by no engine
INT8_SUBDIR, INT8_METADATA = "int8", "int8.json"
_ATOMIC_TEMPORARY = re.compile(r"^\.[^/]+\.(tmp-\d+-[^/]+|old-[^/]+|lock)$")
_EXTERNAL_MARK = b"\x0a\x08location"  # a StringStringEntryProto key "location": how external data is named


def _files_under(directory: Path) -> list[str]:
    names = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs.sort()
        relative = Path(root).relative_to(directory)
        names += [(relative / name).as_posix() for name in sorted(files)]
        names += [(relative / name).as_posix() for name in dirs if (Path(root) / name).is_symlink()]
    return names


def _int8_listed(directory: Path) -> set[str]:
    try:
        files = json.loads((directory / INT8_SUBDIR / INT8_METADATA).read_text()).get("files", {})
    except (OSError, ValueError, AttributeError):
        return set()  # open_int8_model refuses it when the INT8 model is used
    return {f"{INT8_SUBDIR}/{name}" for name in files} if isinstance(files, dict) else set()


def unlisted_files(directory: str | Path, files: dict[str, Any]) -> list[str]:
    """Files under ``directory`` that ``files`` does not list (and that are not allowed unlisted), sorted."""
    directory = Path(directory)
    listed = {PurePosixPath(name).as_posix() for name in files}
    allowed = {METADATA_FILE, *DATA_FILES, f"{INT8_SUBDIR}/{INT8_METADATA}"} | _int8_listed(directory)
    return [name for name in _files_under(directory) if name not in listed and name not in allowed
            and not _ATOMIC_TEMPORARY.match(name.split("/")[0])]


def external_data_locations(onnx_path: str | Path) -> list[str]:
    """The external-data paths an ONNX file's tensors name (empty for a self-contained file)."""
    path = Path(onnx_path)
    with open(path, "rb") as handle:
        if _EXTERNAL_MARK not in handle.read():
            return []
    import onnx
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    model = onnx.load(str(path), load_external_data=False)
    locations = []
    for tensor in _get_all_tensors(model):
        if uses_external_data(tensor):
            locations += [entry.value for entry in tensor.external_data if entry.key == "location"]
    return sorted(set(locations))


def check_listing(directory: str | Path, files: dict[str, Any], meta_path: Path) -> None:
    """Raise ``ModelDirError`` naming an unlisted file, or an external-data path outside ``files``."""
    directory = Path(directory)
    extra = unlisted_files(directory, files)
    if extra:
        shown = ", ".join(extra[:5]) + (f" (+{len(extra) - 5} more)" if len(extra) > 5 else "")
        raise ModelDirError(f"{directory} holds files not listed in {meta_path}: {shown}; an engine or an import could "
                            f"open them unverified. Remove them, or list each with its sha256 in 'files'")
    onnx_path = directory / ONNX_FILE
    if not onnx_path.is_file():
        return
    listed = {PurePosixPath(name).as_posix() for name in files}
    for location in external_data_locations(onnx_path):
        name = PurePosixPath(location)
        if name.is_absolute() or ".." in name.parts or name.as_posix() not in listed:
            raise ModelDirError(f"{onnx_path} reads external data from {location!r}, which {meta_path} does not list; "
                                f"every file an engine opens must be inside the directory and listed with its sha256")
