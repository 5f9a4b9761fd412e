"""The classifier directory: ONNX graph, Torch state dict and ``metadata.json``, written and read here.

Format (version 1), the same for our shipped classifier and any downstream project's:

- ``classifier.onnx``: the whole model, preprocessing included; input ``images`` uint8 (N, H, W, 3)
  RGB with a dynamic batch axis, output ``logits`` float32 (N, K).
- ``classifier.pt``: the Torch ``state_dict`` (loaded with ``weights_only=True``).
- ``metadata.json``: ``format_version``, ``input`` (shape with ``null`` batch, dtype, layout),
  ``classes`` (names, in logit order), ``goal_index``, ``torch_factory`` ("package.module:function",
  called with ``torch_factory_kwargs`` to rebuild the module), ``files`` (name -> sha256), and free
  ``info`` (training seed, accuracy, ...).

A directory is written to a temporary sibling and renamed into place, so a crash leaves nothing
half-written under the target name.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from panda_env.atomic_write import atomic_directory

FORMAT_VERSION = 1
ONNX_FILE = "classifier.onnx"
TORCH_FILE = "classifier.pt"
METADATA_FILE = "metadata.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


class ModelDirError(ValueError):
    """The classifier directory is missing, incomplete, corrupt or does not match its metadata."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelDir:
    """A checked classifier directory and its metadata."""

    path: Path
    metadata: dict[str, Any] = field(repr=False)

    @property
    def onnx_path(self) -> Path:
        return self.path / ONNX_FILE

    @property
    def torch_path(self) -> Path:
        return self.path / TORCH_FILE

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one input image."""
        return tuple(self.metadata["input"]["shape"][1:])

    @property
    def goal_index(self) -> int:
        return int(self.metadata["goal_index"])

    @property
    def classes(self) -> list[str]:
        return list(self.metadata["classes"])

    def build_torch_module(self):
        """Import ``torch_factory``, build the module and load the state dict (weights only)."""
        import torch

        factory = import_factory(self.metadata["torch_factory"])
        module = factory(**self.metadata.get("torch_factory_kwargs", {}))
        state = torch.load(self.torch_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
        return module.eval()


def import_factory(spec: str):
    """Resolve "package.module:function"."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ModelDirError(f"torch_factory must look like 'package.module:function', got {spec!r}")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ModelDirError(f"cannot import torch_factory {spec!r}: {error}") from error


def read_metadata(meta_path: Path, format_version: int) -> dict[str, Any]:
    """A metadata JSON file's contents, or ModelDirError if it is not JSON or has another format version."""
    try:
        metadata = json.loads(meta_path.read_text())
    except json.JSONDecodeError as error:
        raise ModelDirError(f"{meta_path} is not valid JSON: {error}") from error
    if metadata.get("format_version") != format_version:
        raise ModelDirError(f"{meta_path}: format_version {metadata.get('format_version')!r} is not "
                            f"supported (expected {format_version})")
    return metadata


def open_model_dir(model_dir: str | Path | None = None, *, verify: bool = True) -> ModelDir:
    """Read and check a classifier directory (``None``: the one shipped in ``panda_env``)."""
    path = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    if not path.is_dir():
        raise ModelDirError(f"classifier directory {path} does not exist; pass a directory written by "
                            f"export_classifier (or `python -m panda_env train-classifier`)")
    meta_path = path / METADATA_FILE
    if not meta_path.is_file():
        raise ModelDirError(f"{meta_path} is missing: {path} is not a classifier directory")
    metadata = read_metadata(meta_path, FORMAT_VERSION)
    for name, expected in metadata.get("files", {}).items():
        file = path / name
        if not file.is_file():
            raise ModelDirError(f"{file} is missing (listed in {meta_path})")
        if verify and sha256_of(file) != expected:
            raise ModelDirError(f"{file} does not match the sha256 in {meta_path}: the file was changed "
                                f"or corrupted; export the classifier again")
    return ModelDir(path, metadata)


def export_classifier(
    model,
    example_images: np.ndarray,
    out_dir: str | Path,
    *,
    torch_factory: str,
    torch_factory_kwargs: dict[str, Any] | None = None,
    classes: tuple[str, ...] = ("not_goal", "goal"),
    goal_index: int = 1,
    info: dict[str, Any] | None = None,
    overwrite: bool = True,
) -> ModelDir:
    """Write ``model`` (an ``nn.Module`` taking uint8 (N, H, W, 3) images) as a classifier directory.

    Exports ONNX with ``torch.onnx`` (dynamic batch axis, checked with ``onnx.checker``), saves the
    state dict, hashes both into ``metadata.json``, and renames the finished directory into place.
    """
    import onnx
    import torch

    example = np.asarray(example_images)
    if example.dtype != np.uint8 or example.ndim != 4 or example.shape[-1] != 3 or len(example) == 0:
        raise ValueError(f"example_images must be uint8 of shape (N, H, W, 3) with N >= 1, "
                         f"got {example.dtype} {example.shape}")
    if not 0 <= goal_index < len(classes):
        raise ValueError(f"goal_index {goal_index} is not an index of classes {classes}")
    import_factory(torch_factory)  # fail now, not when someone loads the directory
    out = Path(out_dir)
    model = model.eval()
    with atomic_directory(out, overwrite=overwrite) as tmp:
        inputs = (torch.from_numpy(example[:2].copy()),)
        torch.onnx.export(model, inputs, str(tmp / ONNX_FILE), input_names=["images"], output_names=["logits"],
                          dynamic_shapes={"images": {0: torch.export.Dim("batch", min=1)}},
                          dynamo=True, external_data=False, verbose=False)
        onnx.checker.check_model(onnx.load(str(tmp / ONNX_FILE)))
        torch.save(model.state_dict(), tmp / TORCH_FILE)
        metadata = {
            "format_version": FORMAT_VERSION,
            "input": {"name": "images", "shape": [None, *example.shape[1:]], "dtype": "uint8",
                      "layout": "NHWC", "color": "RGB"},
            "output": {"name": "logits", "dtype": "float32", "shape": [None, len(classes)]},
            "classes": list(classes),
            "goal_index": goal_index,
            "torch_factory": torch_factory,
            "torch_factory_kwargs": torch_factory_kwargs or {},
            "files": {name: sha256_of(tmp / name) for name in (ONNX_FILE, TORCH_FILE)},
            "info": info or {},
        }
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return open_model_dir(out)
