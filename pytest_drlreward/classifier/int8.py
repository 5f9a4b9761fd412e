"""Reading an INT8 OpenVINO model that belongs to a classifier directory.

An INT8 directory holds ``classifier_int8.xml`` / ``classifier_int8.bin`` (an OpenVINO IR) and
``int8.json`` (format version, the sha256 of both IR files, and ``source_onnx_sha256``: the ONNX file
it was quantised from). A classifier directory may hold its own in ``<model_dir>/int8``. Writing one
needs NNCF (``quantize.py`` beside this file: ``quantize_classifier``); reading needs nothing.
"""

from __future__ import annotations

from pathlib import Path

from pytest_drlreward.classifier.directory import ModelDir, ModelDirError, read_metadata, sha256_of, verify_files

INT8_XML = "classifier_int8.xml"
INT8_BIN = "classifier_int8.bin"
INT8_METADATA = "int8.json"
INT8_FORMAT_VERSION = 1
INT8_SUBDIR = "int8"  # a classifier directory's own INT8 model: <model_dir>/int8


def has_int8_model(model_dir: ModelDir) -> bool:
    """Whether ``model_dir`` holds its own INT8 model directory (``<model_dir>/int8``); not checked here."""
    return (model_dir.path / INT8_SUBDIR).is_dir()


def open_int8_model(int8_model: str | Path | bool, model_dir: ModelDir) -> Path:
    """Return the IR ``.xml`` of an INT8 directory (or its ``.xml``) after checking it was made from ``model_dir``.

    ``int8_model=True`` means ``model_dir``'s own INT8 directory, ``<model_dir>/int8``.
    Raises ``ModelDirError`` if the files or ``int8.json`` are missing or altered, or if its source ONNX
    sha256 differs from ``model_dir``'s ONNX file.
    """
    if int8_model is True:
        path = model_dir.path / INT8_SUBDIR
        if not path.is_dir():
            raise ModelDirError(f"classifier directory {model_dir.path} has no INT8 model: {path} does not exist; "
                                f"quantise the classifier first: pytest_drlreward.quantize_classifier('{model_dir.path}', "
                                f"calibration_inputs) (needs the int8 extra)")
    elif isinstance(int8_model, (str, Path)):
        path = Path(int8_model)
    else:
        raise TypeError(f"int8_model must be True or a path, got {int8_model!r}")
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
    metadata = read_metadata(meta_path, INT8_FORMAT_VERSION)
    verify_files(xml.parent, metadata.get("files"), meta_path, (INT8_XML, INT8_BIN))
    source, actual = metadata.get("source_onnx_sha256"), sha256_of(model_dir.onnx_path)
    if source != actual:
        raise ModelDirError(f"INT8 model {xml} was quantised from an ONNX file with sha256 {source}, but "
                            f"{model_dir.onnx_path} has sha256 {actual}: it belongs to other weights; "
                            f"quantise this classifier again")
    return xml
