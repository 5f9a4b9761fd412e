"""The classifier directory format: read and check it (``open_model_dir``), write it (``export_classifier``).

``export_classifier`` needs torch; it is imported on first use, so reading a directory does not.
"""

from __future__ import annotations

from typing import Any

from pytest_drlreward.classifier.directory import (
    FORMAT_VERSION,
    METADATA_FILE,
    ONNX_FILE,
    TORCH_FILE,
    ModelDir,
    ModelDirError,
    import_factory,
    open_model_dir,
    sha256_of,
)

__all__ = ["FORMAT_VERSION", "METADATA_FILE", "ONNX_FILE", "TORCH_FILE", "ModelDir", "ModelDirError",
           "export_classifier", "import_factory", "open_model_dir", "sha256_of"]


def __getattr__(name: str) -> Any:
    if name == "export_classifier":
        from pytest_drlreward.classifier.export import export_classifier

        return export_classifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
