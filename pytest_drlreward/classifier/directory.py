"""The classifier directory: reading and checking it.

Format 2 (``metadata.py`` documents ``metadata.json`` field by field), the same for our shipped
classifier and any downstream project's:

- ``classifier.onnx``: the whole model, preprocessing included; one or more named inputs with a
  dynamic batch axis, one float32 output.
- ``classifier.pt`` (only with a ``torch_factory``): the Torch ``state_dict`` (``weights_only=True``).
- ``metadata.json``: ``format_version`` 2, ``inputs``, ``output``, ``decision`` (the one decision
  rule, :class:`~pytest_drlreward.classifier.decision.DecisionRule`), ``classes``, ``files`` (name ->
  sha256 of every file a backend may load), optional ``torch_factory`` ("package.module:function",
  called with ``torch_factory_kwargs`` to rebuild the module before its state dict is loaded), ``info``.

Format 1 (one uint8 NHWC ``input``, ``goal_index``, a required ``torch_factory``) is still read, as
the same in-memory object.

Only files listed (and verified) in ``files`` are ever loaded. Only the standard library and numpy
are imported here; torch when a Torch module is built.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_drlreward.classifier.files import METADATA_FILE, ONNX_FILE, READABLE_FORMATS, TORCH_FILE
from pytest_drlreward.classifier.metadata import (  # ModelDirError lives there: listing and trust import it too
    InputSpec,
    ModelDirError,
    OutputSpec,
    check_classes,
    from_format_1,
    parse_decision,
    parse_inputs,
    parse_output,
)

if TYPE_CHECKING:
    from pytest_drlreward.classifier.decision import DecisionRule

REQUIRED_FILES = (ONNX_FILE, TORCH_FILE)  # format 1; format 2 needs classifier.pt only with a torch_factory
REQUIRED_KEYS = ("format_version", "inputs", "output", "decision", "files")


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_factory(spec: str) -> Callable[..., Any]:
    """Resolve ``"package.module:function"`` (the ``torch_factory`` of a classifier directory)."""
    from pytest_drlreward.util.resolve import resolve

    return resolve(spec, "torch_factory", ModelDirError, hint=" (is its module installed, or on the pythonpath?)")


def read_metadata(meta_path: Path, format_version: int | tuple[int, ...], data: bytes | None = None) -> dict[str, Any]:
    """A metadata JSON object (``data``: its bytes, already read), or ModelDirError if it is not one or has another
    format version."""
    versions = format_version if isinstance(format_version, tuple) else (format_version,)
    from pytest_drlreward.classifier.bounds import MAX_METADATA_DEPTH, depth_of

    try:
        metadata = json.loads(Path(meta_path).read_bytes() if data is None else data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelDirError(f"{meta_path} is not valid JSON: {error}") from error
    except RecursionError:
        raise ModelDirError(f"{meta_path} nests deeper than {MAX_METADATA_DEPTH} levels; it is not a metadata file") from None
    if depth_of(metadata) > MAX_METADATA_DEPTH:
        raise ModelDirError(f"{meta_path} nests deeper than {MAX_METADATA_DEPTH} levels; it is not a metadata file")
    if not isinstance(metadata, dict):
        raise ModelDirError(f"{meta_path} must hold a JSON object, got a {type(metadata).__name__}")
    if metadata.get("format_version") not in versions:
        raise ModelDirError(f"{meta_path}: format_version {metadata.get('format_version')!r} is not "
                            f"supported (expected {' or '.join(map(str, versions))})")
    return metadata


def verify_files(directory: Path, files: Any, meta_path: Path, required: tuple[str, ...], check: bool = True) -> None:
    """Check that ``files`` (name -> sha256) lists ``required`` and (``check``) that every listed file matches."""
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
        if not check:
            continue
        if not file.is_file():
            raise ModelDirError(f"{file} is missing (listed in {meta_path})")
        if sha256_of(file) != expected:
            raise ModelDirError(f"{file} does not match the sha256 in {meta_path}: the file was changed "
                                f"or corrupted; export the classifier again")


def _check_metadata(metadata: dict[str, Any], meta_path: Path) -> dict[str, Any]:
    """The metadata as format 2 (format 1 converted), every field checked; ModelDirError naming the field."""
    if metadata.get("format_version") == 1:
        metadata = from_format_1(metadata, meta_path)
    missing = [key for key in REQUIRED_KEYS if key not in metadata]
    if missing:
        raise ModelDirError(f"{meta_path} lacks {missing}; write the directory with export_classifier or "
                            f"write_classifier_dir")
    inputs = parse_inputs(metadata["inputs"], meta_path)
    from pytest_drlreward.classifier.bounds import check_image_shape

    for spec in inputs:
        try:
            check_image_shape([None, *spec.item_shape], f"{meta_path}: input {spec.name!r}")
        except ValueError as error:
            raise ModelDirError(str(error)) from None
    output = parse_output(metadata["output"], meta_path)
    rule = parse_decision(metadata["decision"], output, meta_path)
    classes = check_classes(metadata.get("classes"), rule, meta_path)
    factory = metadata.get("torch_factory")
    if factory is not None and (not isinstance(factory, str) or ":" not in factory):
        raise ModelDirError(f"{meta_path}: torch_factory must be 'package.module:function' (or absent for an "
                            f"ONNX-only directory), got {factory!r}")
    kwargs = metadata.get("torch_factory_kwargs", {})
    if not isinstance(kwargs, dict):
        raise ModelDirError(f"{meta_path}: torch_factory_kwargs must be an object, got {kwargs!r}")
    return {**metadata, "inputs": [spec.to_metadata() for spec in inputs], "output": output.to_metadata(),
            "decision": rule.to_metadata(), "classes": classes, "torch_factory": factory,
            "torch_factory_kwargs": kwargs}


@dataclass(frozen=True)
class ModelDir:
    """A checked classifier directory and its metadata."""

    path: Path
    metadata: dict[str, Any] = field(repr=False)  # format 2 (format 1 is converted when read)
    blobs: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)  # listed file -> verified bytes
    _parsed: tuple[tuple[InputSpec, ...], OutputSpec, DecisionRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        meta_path = self.path / METADATA_FILE
        metadata = self.metadata
        if metadata.get("format_version") == 1:
            metadata = from_format_1(metadata, meta_path)
            object.__setattr__(self, "metadata", metadata)
        output = parse_output(metadata["output"], meta_path)
        object.__setattr__(self, "_parsed", (parse_inputs(metadata["inputs"], meta_path), output,
                                             parse_decision(metadata["decision"], output, meta_path)))

    @property
    def onnx_path(self) -> Path:
        return self.path / ONNX_FILE

    @property
    def torch_path(self) -> Path:
        return self.path / TORCH_FILE

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        """The model's named inputs, in the order of the ONNX graph."""
        return self._parsed[0]

    @property
    def output(self) -> OutputSpec:
        return self._parsed[1]

    @property
    def decision(self) -> DecisionRule:
        """The directory's one decision rule."""
        return self._parsed[2]

    @property
    def has_torch_factory(self) -> bool:
        """Whether a Torch module can be rebuilt (``torch_factory`` and ``classifier.pt``)."""
        return self.metadata.get("torch_factory") is not None

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The item shape of the first input (H, W, C for one NHWC image)."""
        return self.inputs[0].item_shape

    @property
    def goal_index(self) -> int | None:
        """The goal column of an argmax/softmax rule (None for sigmoid and score)."""
        return self.decision.goal_index

    @property
    def classes(self) -> list[str]:
        return list(self.metadata["classes"])

    def read_verified(self, name: str) -> bytes:
        """The bytes of listed file ``name``, as hashed when the directory was opened (else read once now, through
        no symlink, and checked against its sha256): what an engine or loader is given, never the path."""
        if name not in self.blobs:
            from pytest_drlreward.classifier.snapshot import read_listed

            files = self.metadata.get("files", {})
            if name not in files:
                raise ModelDirError(f"{self.path / METADATA_FILE} does not list {name}; every loaded file must be listed "
                                    f"with its sha256")
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                self.blobs.update(read_listed(fd, {name: files[name]}, self.path, self.path / METADATA_FILE))
            finally:
                os.close(fd)
        return self.blobs[name]

    def onnx_bytes(self) -> bytes:
        """The verified ONNX model an engine loads from memory (external data copied in from the verified files)."""
        from pytest_drlreward.classifier.listing import inline_external_data

        return inline_external_data(self.read_verified(ONNX_FILE), self.read_verified, self.onnx_path)

    def check_factory(self, trust_code: bool = False, trusted_modules: Iterable[str] = ()) -> Callable[..., Any]:
        """Check ``torch_factory`` may run (``pytest_drlreward.util.allowlist``: a function or class of your project or of
        ``trusted_modules``; code inside the directory only with ``trust_code``), then import it; ModelDirError
        naming it otherwise."""
        from pytest_drlreward.classifier.trust import load_factory

        if not self.has_torch_factory:
            raise ModelDirError(f"{self.path / METADATA_FILE} has no torch_factory: this ONNX-only directory "
                                f"cannot be run on Torch; use an ONNX engine (or a callable) as the reference")
        return load_factory(self.metadata["torch_factory"], self.path, trust_code, str(self.path / METADATA_FILE),
                            trusted_modules)

    def build_torch_module(self, trust_code: bool = False, trusted_modules: Iterable[str] = ()) -> Any:
        """Import ``torch_factory`` (see ``check_factory``), build the module and load the state dict (weights only)."""
        import torch

        kwargs = self.metadata.get("torch_factory_kwargs", {})
        if not isinstance(kwargs, dict):
            raise ModelDirError(f"{self.path / METADATA_FILE}: torch_factory_kwargs must be an object, got {kwargs!r}")
        module = self.check_factory(trust_code, trusted_modules)(**kwargs)
        if not isinstance(module, torch.nn.Module):
            raise ModelDirError(f"{self.path / METADATA_FILE}: torch_factory {self.metadata['torch_factory']!r} "
                                f"returned a {type(module).__name__}, not a torch.nn.Module")
        state = torch.load(io.BytesIO(self.read_verified(TORCH_FILE)), map_location="cpu", weights_only=True)
        module.load_state_dict(state)
        return module.eval()


def open_model_dir(model_dir: str | Path) -> ModelDir:
    """Read and check a classifier directory: metadata fields, no symlink, no unlisted file, and the sha256 of
    every listed file, each read ONCE through one open directory (a writer swapping it meanwhile cannot mix two
    copies: ``pytest_drlreward.util.stable_read.read_directory``); the ModelDir keeps those bytes for the engines."""
    from pytest_drlreward.util.stable_read import read_directory

    path = Path(model_dir)
    if not path.is_dir():
        what = "is a file, not a directory" if path.exists() else "does not exist"
        raise ModelDirError(f"classifier directory {path} {what}; pass a directory written by "
                            f"pytest_drlreward.export_classifier")
    return read_directory(path, lambda fd: _open_model_dir(path, fd))


def _present(files: dict[str, str], names: list[str]) -> dict[str, str]:
    """The listed files to read: all, but the INT8 model's (``int8/...``) when the copy has no ``int8/`` at all
    (a directory copied without its optional INT8 model); a partial ``int8/`` is read and fails by name."""
    has_int8 = any(name.startswith("int8/") for name in names)
    return {name: digest for name, digest in files.items() if has_int8 or not name.startswith("int8/")}


def _open_model_dir(path: Path, dir_fd: int) -> ModelDir:
    from pytest_drlreward.classifier.listing import check_listing
    from pytest_drlreward.classifier.snapshot import entries, read_file, read_listed

    meta_path = path / METADATA_FILE
    names = entries(dir_fd, path)  # refuses a symlink anywhere
    if METADATA_FILE not in names:
        raise ModelDirError(f"{meta_path} is missing: {path} is not a classifier directory (write one with "
                            f"pytest_drlreward.export_classifier)")
    raw = read_file(dir_fd, METADATA_FILE, path, meta_path)
    metadata = _check_metadata(read_metadata(meta_path, READABLE_FORMATS, raw), meta_path)
    required = (ONNX_FILE, TORCH_FILE) if metadata["torch_factory"] is not None else (ONNX_FILE,)
    verify_files(path, metadata["files"], meta_path, required, check=False)
    blobs = read_listed(dir_fd, _present(metadata["files"], names), path, meta_path)
    check_listing(path, metadata["files"], meta_path, names, blobs)  # no unlisted file an engine could open
    return ModelDir(path, metadata, blobs)
