"""PandaHover's INT8 classifier: the core's ``quantize_classifier`` (``pytest_drlreward.classifier.quantize``),
with ``model_dir=None`` meaning the classifier shipped in ``panda_env``. ``python -m panda_env quantize``
calls it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from panda_env.reward import open_model_dir
from pytest_drlreward.classifier.directory import ModelDir
from pytest_drlreward.classifier.int8 import (  # noqa: F401  (re-exported)
    INT8_BIN,
    INT8_FORMAT_VERSION,
    INT8_METADATA,
    INT8_SUBDIR,
    INT8_XML,
    has_int8_model,
    open_int8_model,
)
from pytest_drlreward.classifier.quantize import check_int8_target  # noqa: F401  (re-exported)
from pytest_drlreward.classifier.quantize import quantize_classifier as _quantize_classifier


def quantize_classifier(model_dir: str | Path | ModelDir | None, calibration_images: np.ndarray,
                        out_dir: str | Path | None = None, subset_size: int = 300, *, overwrite: bool = False) -> Path:
    """The core's ``quantize_classifier`` on ``model_dir`` (``None``: the shipped classifier)."""
    return _quantize_classifier(open_model_dir(model_dir), calibration_images, out_dir, subset_size, overwrite=overwrite)
