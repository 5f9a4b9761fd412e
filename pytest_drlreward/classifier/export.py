"""``export_classifier``: write any ``nn.Module`` as a classifier directory (see ``directory.py``).

Needs the ``torch`` extra (torch, onnx, onnxscript): ``pip install ".[torch]"`` in a clone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.atomic import atomic_directory
from pytest_drlreward.backends.base import require
from pytest_drlreward.classifier.directory import (
    FORMAT_VERSION,
    METADATA_FILE,
    ONNX_FILE,
    TORCH_FILE,
    ModelDir,
    import_factory,
    open_model_dir,
    sha256_of,
)
from pytest_drlreward.classifier.quiet import quiet_onnx_export

INPUT_NAME = "images"
OUTPUT_NAME = "logits"


def _check_example(example_images: Any) -> np.ndarray:
    example = np.asarray(example_images)
    if example.dtype != np.uint8 or example.ndim != 4 or example.shape[-1] != 3 or len(example) == 0:
        raise ValueError(f"example_images must be uint8 of shape (N, H, W, 3) with N >= 1, "
                         f"got {example.dtype} {example.shape}")
    return example


def _export_onnx(model: Any, example: np.ndarray, path: Path) -> None:
    """ONNX export with a dynamic batch axis, whatever the forward argument is called.

    ``torch.export`` specialises a dimension whose example size is 1, so a single example image is
    repeated to make a batch of 2 for tracing.
    """
    torch = require("torch", "export_classifier", extra="torch")
    onnx = require("onnx", "export_classifier", extra="torch")
    batch = example[:2] if len(example) >= 2 else np.repeat(example, 2, axis=0)
    inputs = (torch.from_numpy(np.ascontiguousarray(batch)),)
    dynamic = ({0: torch.export.Dim("batch", min=1)},)  # positional: no forward argument name needed
    with quiet_onnx_export():  # no "torchvision is not installed. Skipping torchvision::nms" lines
        torch.onnx.export(model, inputs, str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_shapes=dynamic, dynamo=True, external_data=False, verbose=False)
    onnx.checker.check_model(onnx.load(str(path)))


def export_classifier(
    model: Any,
    example_images: np.ndarray,
    out_dir: str | Path,
    *,
    torch_factory: str,
    torch_factory_kwargs: dict[str, Any] | None = None,
    classes: Sequence[str] = ("not_goal", "goal"),
    goal_index: int = 1,
    info: dict[str, Any] | None = None,
    overwrite: bool = True,
) -> ModelDir:
    """Write ``model`` (an ``nn.Module`` taking uint8 (N, H, W, 3) RGB images) as a classifier directory.

    ``torch_factory`` is ``"package.module:function"``: ``function(**torch_factory_kwargs)`` must return
    a module of the same architecture (untrained); its state dict is then loaded. It is imported before
    anything is written. Exports ONNX with ``torch.onnx`` (dynamic batch axis, checked with
    ``onnx.checker``), saves the state dict, hashes both into ``metadata.json``, and renames the
    finished directory into place. ``example_images`` may hold any N >= 1 images.
    """
    torch = require("torch", "export_classifier", extra="torch")
    example = _check_example(example_images)
    classes = list(classes)
    if len(classes) < 2:
        raise ValueError(f"classes must name at least 2 classes, got {classes}")
    if isinstance(goal_index, bool) or not isinstance(goal_index, int) or not 0 <= goal_index < len(classes):
        raise ValueError(f"goal_index {goal_index!r} is not an index of classes {classes}")
    import_factory(torch_factory)  # fail now, not when someone loads the directory
    model = model.eval()
    with torch.inference_mode():
        logits = model(torch.from_numpy(np.ascontiguousarray(example[:1])))
    if tuple(logits.shape) != (1, len(classes)):
        raise ValueError(f"the model returned logits of shape {tuple(logits.shape)} for 1 image; expected "
                         f"(1, {len(classes)}) for classes {classes}")
    with atomic_directory(Path(out_dir), overwrite=overwrite) as tmp:
        _export_onnx(model, example, tmp / ONNX_FILE)
        torch.save(model.state_dict(), tmp / TORCH_FILE)
        metadata = {
            "format_version": FORMAT_VERSION,
            "input": {"name": INPUT_NAME, "shape": [None, *example.shape[1:]], "dtype": "uint8",
                      "layout": "NHWC", "color": "RGB"},
            "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": [None, len(classes)]},
            "classes": classes,
            "goal_index": goal_index,
            "torch_factory": torch_factory,
            "torch_factory_kwargs": torch_factory_kwargs or {},
            "files": {name: sha256_of(tmp / name) for name in (ONNX_FILE, TORCH_FILE)},
            "info": info or {},
        }
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return open_model_dir(out_dir)
