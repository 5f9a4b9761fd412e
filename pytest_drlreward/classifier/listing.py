"""Every file an engine may open is listed (and so hash-checked) in ``metadata.json``, or the directory is refused.

Two rules, checked when a directory is opened:

- no unlisted file: every file under the directory is in ``files`` (the ``int8/`` model's files included:
  ``int8/int8.json``'s own list is not trusted on its own), except ``metadata.json`` itself,
  ``labelled_images.npz`` (read by numpy with ``allow_pickle=False``, never by an engine), and the
  temporaries and locks of ``pytest_drlreward.util.atomic`` (``.NAME.tmp-PID-*``, ``.NAME.old-*``,
  ``.NAME.lock``: a write in progress or killed, which no engine opens);
- ONNX external data (tensors stored in side files) must name a relative path inside the directory that
  ``files`` lists. The graph is parsed as protobuf with the ``onnx`` package (any encoding of the
  fields is read as the engines read it); without ``onnx``, a graph whose bytes hold the key
  ``location`` at all is refused (a protobuf string is stored as its bytes, however its length is written).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_drlreward.classifier.files import METADATA_FILE, ONNX_FILE
from pytest_drlreward.classifier.metadata import ModelDirError

DATA_FILES = ("labelled_images.npz",)  # read without pickle by the plugin, opened by no engine
_ATOMIC_TEMPORARY = re.compile(r"^\.[^/]+\.(tmp-\d+-[^/]+|old-[^/]+|lock)$")
_EXTERNAL_MARK = b"location"  # the key naming an external-data file: its bytes appear in any encoding


def unlisted_files(directory: str | Path, files: dict[str, Any], names: list[str] | None = None) -> list[str]:
    """Files under ``directory`` (or ``names``, already listed from it) that ``files`` does not list (and that are
    not allowed unlisted), sorted; ModelDirError for a symlink anywhere in it."""
    directory = Path(directory)
    if names is None:
        from pytest_drlreward.classifier.snapshot import entries

        fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            names = entries(fd, directory)
        finally:
            os.close(fd)
    listed = {PurePosixPath(name).as_posix() for name in files}
    allowed = {METADATA_FILE, *DATA_FILES}
    return [name for name in names if name not in listed and name not in allowed
            and not _ATOMIC_TEMPORARY.match(name.split("/")[0])]


def external_data_locations(onnx_path: str | Path | None = None, data: bytes | None = None) -> list[str]:
    """The external-data paths an ONNX file's tensors name (empty for a self-contained file), from its bytes
    ``data`` (else read from ``onnx_path``), parsed as protobuf; ModelDirError when it cannot be parsed."""
    if data is None:
        data = Path(onnx_path).read_bytes()  # type: ignore[arg-type]
    if _EXTERNAL_MARK not in data:
        return []
    return sorted({location for _, location in external_tensors(data, onnx_path)})


def _parse(data: bytes, where: Any) -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelDirError(f"{where} may name external data (its bytes hold the key 'location'), which only the onnx "
                            f"package can check: pip install onnx, or export the classifier without external data") from None
    try:
        return onnx.load_model_from_string(data)
    except Exception as error:  # protobuf's DecodeError and friends
        raise ModelDirError(f"{where} is not a readable ONNX model: {error}") from None


def external_tensors(data: bytes, where: Any = "the ONNX file", model: Any = None) -> list[tuple[Any, str]]:
    """(tensor, location) of every tensor stored outside the ONNX bytes ``data`` (or the parsed ``model``)."""
    from onnx.external_data_helper import _get_all_tensors

    model = _parse(data, where) if model is None else model
    found = []
    for tensor in _get_all_tensors(model):
        entries = {entry.key: entry.value for entry in tensor.external_data}
        if tensor.data_location == 1 or "location" in entries:  # TensorProto.EXTERNAL
            found.append((tensor, entries.get("location", "")))
    return found


def inline_external_data(data: bytes, read: Callable[[str], bytes], where: Any) -> bytes:
    """The ONNX bytes ``data`` with every external tensor's bytes copied in from ``read(name)`` (a listed file's
    verified bytes), so an engine loading them from memory opens no file; ``data`` itself when it names none."""
    if _EXTERNAL_MARK not in data:
        return data
    import onnx

    model = _parse(data, where)
    tensors = external_tensors(data, where, model)
    if not tensors:
        return data
    for tensor, location in tensors:
        entries = {entry.key: entry.value for entry in tensor.external_data}
        name = PurePosixPath(location).as_posix()
        offset, length = int(entries.get("offset", 0)), entries.get("length")
        tensor.raw_data = read(name)[offset: None if length is None else offset + int(length)]
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
    try:
        return model.SerializeToString()
    except ValueError as error:  # over protobuf's 2 GiB
        raise ModelDirError(f"{where}: its external data cannot be loaded from memory ({error}); no engine is "
                            f"given a path to open") from None


def check_listing(directory: str | Path, files: dict[str, Any], meta_path: Path, names: list[str] | None = None,
                  blobs: dict[str, bytes] | None = None) -> None:
    """Raise ``ModelDirError`` naming an unlisted file (``names``: the directory's files, already listed), or an
    external-data path outside ``files`` (``blobs``: the verified bytes, the ONNX file's among them)."""
    directory = Path(directory)
    extra = unlisted_files(directory, files, names)
    if extra:
        shown = ", ".join(extra[:5]) + (f" (+{len(extra) - 5} more)" if len(extra) > 5 else "")
        raise ModelDirError(f"{directory} holds files not listed in {meta_path}: {shown}; an engine or an import could "
                            f"open them unverified. Remove them, or list each with its sha256 in 'files'")
    onnx_path = directory / ONNX_FILE
    data = blobs.get(ONNX_FILE) if blobs is not None else (onnx_path.read_bytes() if onnx_path.is_file() else None)
    if data is None:
        return
    listed = {PurePosixPath(name).as_posix() for name in files}
    for location in external_data_locations(onnx_path, data):
        name = PurePosixPath(location)
        if name.is_absolute() or ".." in name.parts or name.as_posix() not in listed:
            raise ModelDirError(f"{onnx_path} reads external data from {location!r}, which {meta_path} does not list; "
                                f"every file an engine opens must be inside the directory and listed with its sha256")
