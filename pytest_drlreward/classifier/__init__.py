"""The classifier directory format: read and check it (``open_model_dir``), write it (``export_classifier``
from a torch module, ``write_classifier_dir`` from an ONNX file with no torch), its one decision rule
(``DecisionRule``, in ``decision.py``).

``export_classifier`` needs torch; it is imported on first use, so reading a directory does not.
"""

from __future__ import annotations

from typing import Any

from pytest_drlreward.classifier.directory import ModelDir, import_factory, open_model_dir, sha256_of
from pytest_drlreward.classifier.files import FORMAT_VERSION, METADATA_FILE, ONNX_FILE, READABLE_FORMATS, TORCH_FILE
from pytest_drlreward.classifier.metadata import InputSpec, ModelDirError, OutputSpec

__all__ = ["FORMAT_VERSION", "METADATA_FILE", "ONNX_FILE", "READABLE_FORMATS", "TORCH_FILE", "DecisionRule",
           "InputSpec", "ModelDir", "ModelDirError", "OutputSpec", "export_classifier", "import_factory",
           "open_model_dir", "sha256_of", "write_classifier_dir"]


def __getattr__(name: str) -> Any:
    if name == "export_classifier":
        from pytest_drlreward.classifier.export import export_classifier

        return export_classifier
    if name == "write_classifier_dir":
        from pytest_drlreward.classifier.writer import write_classifier_dir

        return write_classifier_dir
    if name == "DecisionRule":
        from pytest_drlreward.classifier.decision import DecisionRule

        return DecisionRule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
