"""Writing a classifier directory's INT8 OpenVINO model: NNCF post-training quantisation.

The writer beside the reader (``int8.py``), as ``export.py`` sits beside ``directory.py``; any
project's classifier directory works. ``quantize_classifier(model_dir, calibration_inputs)`` reads
the directory's ONNX graph with OpenVINO, quantises it with ``nncf.quantize`` on calibration inputs,
and writes (by default into ``<model_dir>/int8``, the directory ``int8_model=True`` and the
``openvino-int8`` backend read):

- ``classifier_int8.xml`` / ``classifier_int8.bin``: the OpenVINO IR (INT8 weights, f32 scales and
  other constants: saved without f16 compression); input and preprocessing are the ONNX graph's;
- ``int8.json``: NNCF and OpenVINO versions, the number of calibration inputs used, the quantisation
  settings, the sha256 of the source ONNX file and of the two IR files.

The ``openvino-int8`` backend refuses an INT8 model whose source ONNX sha256 differs from the
directory's ONNX file (see ``open_int8_model``). Running an INT8 model needs only OpenVINO; making one
needs NNCF (the ``int8`` extra).

Settings: ``preset=PERFORMANCE`` (symmetric weights and activations; NNCF's default for CNNs) and no
``model_type`` (not a transformer). Activation ranges are the calibration min/max
(``RangeEstimatorParametersSet.MINMAX``) instead of NNCF's default mean-of-extremes, which clipped the
last convolution's large outputs of our shipped classifier and shrank its logits by up to ~10 (of ~30);
min/max kept them within ~1.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

import numpy as np

from pytest_drlreward.classifier.directory import METADATA_FILE, ONNX_FILE, ModelDir, open_model_dir, sha256_of
from pytest_drlreward.classifier.int8 import INT8_BIN, INT8_FORMAT_VERSION, INT8_METADATA, INT8_SUBDIR, INT8_XML
from pytest_drlreward.classifier.snapshot import sha256_bytes
from pytest_drlreward.util.atomic import atomic_directory, check_target, write_text_atomic
from pytest_drlreward.util.extras import require
from pytest_drlreward.util.validation import check_int

logger = logging.getLogger(__name__)



def quantize_classifier(model_dir: str | Path | ModelDir, calibration_inputs: np.ndarray,
                        out_dir: str | Path | None = None, subset_size: int = 300, *, overwrite: bool = False) -> Path:
    """Quantise ``model_dir``'s ONNX graph to INT8 with NNCF and write the IR directory ``out_dir``.

    ``calibration_inputs``: the model's input, uint8 (N, H, W, 3) with the classifier's image shape;
    up to ``subset_size`` of them, evenly spaced over the array, calibrate the activation ranges.
    ``out_dir`` (default ``<model_dir>/int8``) must be a new (or empty) directory, unless ``overwrite``; it may be inside
    ``model_dir`` (``<model_dir>/int8``, the directory ``int8_model=True`` reads) but neither
    ``model_dir`` itself nor a directory containing it. It is written under a temporary name and
    renamed into place, so a failure leaves nothing.
    Raises ``BackendUnavailableError`` when ``nncf`` is not installed.
    """
    nncf = require("nncf", "INT8 quantisation", extra="int8")
    ov = require("openvino", "INT8 quantisation", extra="int8")
    directory = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    images = _check_calibration_images(calibration_inputs, directory.image_shape)
    out_dir = directory.path / INT8_SUBDIR if out_dir is None else out_dir
    check_int(subset_size, "subset_size")
    out = check_int8_target(out_dir, directory, overwrite)  # fail before the slow part; atomic_directory checks again

    # Evenly spaced, so class-sorted or sequential captures still give a mixed calibration set.
    indices = np.unique(np.linspace(0, len(images) - 1, min(int(subset_size), len(images))).round().astype(int))
    calibration = [images[i:i + 1] for i in indices]
    source_sha256 = sha256_bytes(directory.read_verified(ONNX_FILE))
    model = ov.Core().read_model(directory.onnx_bytes())  # the verified bytes, not the path
    advanced = nncf.quantization.advanced_parameters.AdvancedQuantizationParameters(
        activations_range_estimator_params=nncf.quantization.range_estimator.RangeEstimatorParametersSet.MINMAX)
    logger.info("quantising %s to INT8 with NNCF %s on %d calibration images", directory.onnx_path,
                nncf.__version__, len(calibration))
    console = io.StringIO()
    try:
        with contextlib.redirect_stdout(console):  # NNCF draws progress bars on stdout; keep them in the log
            quantized = nncf.quantize(model, nncf.Dataset(calibration), preset=nncf.QuantizationPreset.PERFORMANCE,
                                      subset_size=len(calibration), advanced_parameters=advanced)
    finally:
        if console.getvalue().strip():
            logger.debug("NNCF output:\n%s", console.getvalue().rstrip())

    with atomic_directory(out, overwrite=overwrite) as tmp:
        ov.save_model(quantized, str(tmp / INT8_XML), compress_to_fp16=False)
        metadata = {
            "format_version": INT8_FORMAT_VERSION,
            "nncf_version": nncf.__version__,
            "openvino_version": ov.get_version(),
            "calibration_images": len(calibration),
            "quantization": {"preset": "performance", "activations_range": "minmax", "model_type": None},
            "input": {"shape": [None, *directory.image_shape], "dtype": "uint8"},
            "source_onnx_sha256": source_sha256,
            "files": {name: sha256_of(tmp / name) for name in (INT8_XML, INT8_BIN)},
        }
        (tmp / INT8_METADATA).write_text(json.dumps(metadata, indent=2) + "\n")
    if out.resolve() == (directory.path / INT8_SUBDIR).resolve():
        list_int8_files(directory.path)
    logger.debug("wrote INT8 classifier %s", out)
    return out


def list_int8_files(model_dir: str | Path) -> dict[str, str]:
    """List ``<model_dir>/int8``'s three files with their sha256 in ``model_dir``'s ``metadata.json`` (rewritten
    atomically): every file an engine opens is hash-checked from there. Returns the entries written."""
    path = Path(model_dir)
    meta_path = path / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    listed = {f"{INT8_SUBDIR}/{name}": sha256_of(path / INT8_SUBDIR / name) for name in (INT8_METADATA, INT8_XML, INT8_BIN)}
    metadata["files"] = {**{k: v for k, v in metadata["files"].items() if not k.startswith(f"{INT8_SUBDIR}/")}, **listed}
    write_text_atomic(meta_path, json.dumps(metadata, indent=2) + "\n")
    return listed


def check_int8_target(out_dir: str | Path, model_dir: ModelDir, overwrite: bool = False) -> Path:
    """Raise unless ``out_dir`` can receive an INT8 model of ``model_dir`` (see ``quantize_classifier``)."""
    out = Path(out_dir)
    source = model_dir.path.resolve()
    if out.resolve() == source or out.resolve() in source.parents:
        what = "the classifier directory itself" if out.resolve() == source else "a directory containing the classifier"
        raise ValueError(f"out_dir {out} is {what}; write the INT8 model to a new directory "
                         f"(e.g. {model_dir.path / INT8_SUBDIR})")
    return check_target(out, overwrite)


def _check_calibration_images(images, image_shape: tuple[int, ...]) -> np.ndarray:
    expected = f"uint8 (N, {', '.join(map(str, image_shape))}) with N >= 1"
    if (not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4
            or images.shape[1:] != tuple(image_shape) or len(images) == 0):
        got = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise ValueError(f"calibration_inputs must be {expected}, got {got}")
    return np.ascontiguousarray(images)
