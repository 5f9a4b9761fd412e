"""Reading an INT8 OpenVINO model that belongs to a classifier directory.

An INT8 directory holds ``classifier_int8.xml`` / ``classifier_int8.bin`` (an OpenVINO IR) and
``int8.json`` (format version, the sha256 of both IR files, and ``source_onnx_sha256``: the ONNX file
it was quantised from). A classifier directory may hold its own in ``<model_dir>/int8``; its three files are
then listed with their sha256 in the directory's ``metadata.json`` like every other file. Writing one
needs NNCF (``quantize.py`` beside this file: ``quantize_classifier``); reading needs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pytest_drlreward.classifier.directory import (
    METADATA_FILE,
    ONNX_FILE,
    ModelDir,
    ModelDirError,
    read_metadata,
    verify_files,
)
from pytest_drlreward.classifier.snapshot import entries, read_file, sha256_bytes

INT8_XML = "classifier_int8.xml"
INT8_BIN = "classifier_int8.bin"
INT8_METADATA = "int8.json"
INT8_FORMAT_VERSION = 1
INT8_SUBDIR = "int8"  # a classifier directory's own INT8 model: <model_dir>/int8


def has_int8_model(model_dir: ModelDir) -> bool:
    """Whether ``model_dir`` holds its own INT8 model directory (``<model_dir>/int8``); not checked here."""
    return (model_dir.path / INT8_SUBDIR).is_dir()


@dataclass(frozen=True)
class Int8Model:
    """A checked INT8 model: where its IR is, and its verified bytes (what OpenVINO is given)."""

    xml: Path
    xml_bytes: bytes = field(repr=False)
    bin_bytes: bytes = field(repr=False)


def open_int8_model(int8_model: str | Path | bool, model_dir: ModelDir) -> Path:
    """The IR ``.xml`` of an INT8 directory after :func:`read_int8_model` checked it."""
    return read_int8_model(int8_model, model_dir).xml


def read_int8_model(int8_model: str | Path | bool, model_dir: ModelDir) -> Int8Model:
    """Read and check an INT8 model (a directory or its ``.xml``) made from ``model_dir``; each file read once.

    ``int8_model=True`` means ``model_dir``'s own INT8 directory, ``<model_dir>/int8``, whose three files must be
    listed with their sha256 in ``model_dir``'s ``metadata.json`` (``int8.json``'s list alone is not trusted).
    Raises ``ModelDirError`` if the files or ``int8.json`` are missing or altered, or if its source ONNX
    sha256 differs from ``model_dir``'s ONNX file.
    """
    if int8_model is True:
        path = model_dir.path / INT8_SUBDIR
        if not path.is_dir():
            raise ModelDirError(f"classifier directory {model_dir.path} has no INT8 model: {path} does not exist; "
                                f"quantise the classifier first: pytest_drlreward.quantize_classifier('{model_dir.path}', "
                                f"calibration_inputs) (needs the int8 extra)")
        names = [f"{INT8_SUBDIR}/{name}" for name in (INT8_METADATA, INT8_XML, INT8_BIN)]
        unlisted = [name for name in names if name not in model_dir.metadata.get("files", {})]
        if unlisted:
            raise ModelDirError(f"{model_dir.path / METADATA_FILE} does not list {', '.join(unlisted)}: every file an "
                                f"engine opens must be listed with its sha256 there (int8.json's own list is not "
                                f"enough); quantise again with quantize_classifier('{model_dir.path}', ...)")
        meta_bytes, xml_bytes, bin_bytes = (model_dir.read_verified(name) for name in names)
        xml = path / INT8_XML
    elif isinstance(int8_model, (str, Path)):
        xml, meta_bytes, xml_bytes, bin_bytes = _read_elsewhere(Path(int8_model), model_dir)
    else:
        raise TypeError(f"int8_model must be True or a path, got {int8_model!r}")
    meta_path = xml.parent / INT8_METADATA
    metadata = read_metadata(meta_path, INT8_FORMAT_VERSION, meta_bytes)
    verify_files(xml.parent, metadata.get("files"), meta_path, (INT8_XML, INT8_BIN), check=False)
    for name, data in ((INT8_XML, xml_bytes), (INT8_BIN, bin_bytes)):
        if sha256_bytes(data) != metadata["files"][name]:
            raise ModelDirError(f"{xml.parent / name} does not match the sha256 in {meta_path}: the file was changed "
                                f"or corrupted; quantise the classifier again")
    source, actual = metadata.get("source_onnx_sha256"), sha256_bytes(model_dir.read_verified(ONNX_FILE))
    if source != actual:
        raise ModelDirError(f"INT8 model {xml} was quantised from an ONNX file with sha256 {source}, but "
                            f"{model_dir.onnx_path} has sha256 {actual}: it belongs to other weights; "
                            f"quantise this classifier again")
    return Int8Model(xml, xml_bytes, bin_bytes)


def _read_elsewhere(path: Path, model_dir: ModelDir) -> tuple[Path, bytes, bytes, bytes]:
    """An INT8 directory named by path (not the classifier's own): its three files, read once through no symlink."""
    xml = path / INT8_XML if path.is_dir() else path
    if not xml.is_file():
        raise ModelDirError(f"INT8 model {xml} does not exist; quantise the classifier in {model_dir.path} into "
                            f"{path} first")
    if xml.name != INT8_XML:
        raise ModelDirError(f"int8_model must be an INT8 directory or its {INT8_XML}, got {path}")
    meta_path = xml.parent / INT8_METADATA
    if not meta_path.is_file():
        raise ModelDirError(f"{meta_path} is missing: {xml} was not written by quantize_classifier, so its "
                            f"source classifier is unknown")
    fd = os.open(xml.parent, os.O_RDONLY | os.O_CLOEXEC)
    try:
        entries(fd, xml.parent)  # no symlink in it
        return (xml, *(read_file(fd, name, xml.parent, meta_path) for name in (INT8_METADATA, INT8_XML, INT8_BIN)))
    finally:
        os.close(fd)
