"""The classifier directory: reading and checking it.

Format (version 1), the same for our shipped classifier and any downstream project's:

- ``classifier.onnx``: the whole model, preprocessing included; input uint8 (N, H, W, 3) RGB with a
  dynamic batch axis, output float32 logits (N, K).
- ``classifier.pt``: the Torch ``state_dict`` (loaded with ``weights_only=True``).
- ``metadata.json``: ``format_version``, ``input`` (shape with ``null`` batch, dtype, layout),
  ``classes`` (names, in logit order), ``goal_index``, ``torch_factory`` ("package.module:function",
  called with ``torch_factory_kwargs`` to rebuild the module before its state dict is loaded),
  ``files`` (name -> sha256 of every file a backend may load), and free ``info``.

Only files listed (and verified) in ``files`` are ever loaded. Only the standard library and numpy
are imported here; torch when a Torch module is built.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
ONNX_FILE = "classifier.onnx"
TORCH_FILE = "classifier.pt"
METADATA_FILE = "metadata.json"
REQUIRED_FILES = (ONNX_FILE, TORCH_FILE)
REQUIRED_KEYS = ("format_version", "input", "classes", "goal_index", "torch_factory", "files")


class ModelDirError(ValueError):
    """The classifier directory is missing, incomplete, corrupt or does not match its metadata."""


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_factory(spec: str) -> Callable[..., Any]:
    """Resolve ``"package.module:function"`` (the ``torch_factory`` of a classifier directory)."""
    module_name, _, attribute = str(spec).partition(":")
    if not module_name or not attribute:
        raise ModelDirError(f"torch_factory must look like 'package.module:function', got {spec!r}")
    try:
        factory = importlib.import_module(module_name)
        for part in attribute.split("."):
            factory = getattr(factory, part)
    except (ImportError, AttributeError) as error:
        raise ModelDirError(f"cannot import torch_factory {spec!r}: {error} (is its module installed, or on "
                            f"the pythonpath?)") from error
    if not callable(factory):
        raise ModelDirError(f"torch_factory {spec!r} is not callable")
    return factory


def read_metadata(meta_path: Path, format_version: int) -> dict[str, Any]:
    """A metadata JSON object, or ModelDirError if it is not one or has another format version."""
    try:
        metadata = json.loads(Path(meta_path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelDirError(f"{meta_path} is not valid JSON: {error}") from error
    if not isinstance(metadata, dict):
        raise ModelDirError(f"{meta_path} must hold a JSON object, got a {type(metadata).__name__}")
    if metadata.get("format_version") != format_version:
        raise ModelDirError(f"{meta_path}: format_version {metadata.get('format_version')!r} is not "
                            f"supported (expected {format_version})")
    return metadata


def verify_files(directory: Path, files: Any, meta_path: Path, required: tuple[str, ...]) -> None:
    """Check that ``files`` (name -> sha256) lists ``required`` and that every listed file matches."""
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ModelDirError(f"{meta_path}: 'files' must map file names to sha256 strings, got {files!r}")
    unlisted = [name for name in required if name not in files]
    if unlisted:
        raise ModelDirError(f"{meta_path}: 'files' does not list {unlisted}; every loaded file must be listed with "
                            f"its sha256 (write the directory with export_classifier)")
    for name, expected in files.items():
        file = directory / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ModelDirError(f"{meta_path}: file name {name!r} must be relative to the directory")
        if not file.is_file():
            raise ModelDirError(f"{file} is missing (listed in {meta_path})")
        if sha256_of(file) != expected:
            raise ModelDirError(f"{file} does not match the sha256 in {meta_path}: the file was changed "
                                f"or corrupted; export the classifier again")


def _check_metadata(metadata: dict[str, Any], meta_path: Path) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in metadata]
    if missing:
        raise ModelDirError(f"{meta_path} lacks {missing}; write the directory with export_classifier")
    shape = metadata["input"].get("shape") if isinstance(metadata["input"], dict) else None
    if (not isinstance(shape, list) or len(shape) != 4 or shape[0] is not None
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape[1:])):
        raise ModelDirError(f"{meta_path}: input.shape must be [null, H, W, C] with positive integers, got {shape!r}")
    classes = metadata["classes"]
    if not isinstance(classes, list) or len(classes) < 2:
        raise ModelDirError(f"{meta_path}: classes must be a list of at least 2 names, got {classes!r}")
    goal = metadata["goal_index"]
    if isinstance(goal, bool) or not isinstance(goal, int) or not 0 <= goal < len(classes):
        raise ModelDirError(f"{meta_path}: goal_index {goal!r} is not an index of classes {classes}")
    if not isinstance(metadata["torch_factory"], str) or ":" not in metadata["torch_factory"]:
        raise ModelDirError(f"{meta_path}: torch_factory must be 'package.module:function', "
                            f"got {metadata['torch_factory']!r}")


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
        height, width, channels = self.metadata["input"]["shape"][1:]
        return int(height), int(width), int(channels)

    @property
    def goal_index(self) -> int:
        """Which logit column means goal."""
        return int(self.metadata["goal_index"])

    @property
    def classes(self) -> list[str]:
        return list(self.metadata["classes"])

    def check_factory(self) -> Callable[..., Any]:
        """Import ``torch_factory`` (ModelDirError naming it if that fails)."""
        return import_factory(self.metadata["torch_factory"])

    def build_torch_module(self) -> Any:
        """Import ``torch_factory``, build the module and load the state dict (weights only)."""
        import torch

        module = self.check_factory()(**self.metadata.get("torch_factory_kwargs", {}))
        state = torch.load(self.torch_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
        return module.eval()


def open_model_dir(model_dir: str | Path) -> ModelDir:
    """Read and check a classifier directory: metadata fields and the sha256 of every listed file."""
    path = Path(model_dir)
    if not path.is_dir():
        what = "is a file, not a directory" if path.exists() else "does not exist"
        raise ModelDirError(f"classifier directory {path} {what}; pass a directory written by "
                            f"pytest_drlreward.export_classifier")
    meta_path = path / METADATA_FILE
    if not meta_path.is_file():
        raise ModelDirError(f"{meta_path} is missing: {path} is not a classifier directory (write one with "
                            f"pytest_drlreward.export_classifier)")
    metadata = read_metadata(meta_path, FORMAT_VERSION)
    _check_metadata(metadata, meta_path)
    verify_files(path, metadata["files"], meta_path, REQUIRED_FILES)
    return ModelDir(path, metadata)
