"""Checks run once when pytest starts, so a bad setting is one clear error, not a traceback per test.

No pytest here: each check raises ``ValueError`` (``ModelDirError`` is one) naming the value and the
file; the plugin turns it into a usage error. Nothing heavy is imported: the classifier's
``torch_factory`` is checked in its module's source, not imported (that would import torch, or run
code from the directory: see ``classifier/trust.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_drlreward.backends.registry import CANDIDATE_NAMES, REFERENCE_BACKEND, REGISTRY, VARIANTS, base_backend
from pytest_drlreward.classifier.directory import METADATA_FILE, ModelDir, ModelDirError, open_model_dir
from pytest_drlreward.classifier.trust import locate_factory
from pytest_drlreward.resolve import resolve
from pytest_drlreward.settings import ALL_BACKENDS, options_for


def check_model_dir(path: Path, trust_code: bool = False) -> ModelDir:
    """Open the classifier directory (metadata fields, sha256 of every file, no unlisted file), check its
    inputs against the ONNX graph and that its ``torch_factory`` (when it has one) may run
    (``classifier/trust.py``), importing nothing."""
    from pytest_drlreward.classifier.graph import can_read_graphs

    directory = open_model_dir(path)
    if can_read_graphs():  # else no engine can run it either: the backend tests skip, naming their extras
        check_inputs_against_graph(directory)
    factory = directory.metadata.get("torch_factory")
    if factory is not None:  # None: an ONNX-only directory
        locate_factory(factory, directory.path, trust_code, str(directory.path / METADATA_FILE))
    return directory


def check_inputs_against_graph(directory: ModelDir) -> None:
    """The metadata's ``inputs`` (names, dtypes, fixed axes) and ``output`` match the ONNX graph (read with onnx,
    ONNX Runtime or OpenVINO, whichever is installed); ModelDirError naming the field and value otherwise."""
    from pytest_drlreward.classifier.graph import check_graph_inputs, graph_signature

    inputs, outputs = graph_signature(directory.onnx_path)
    check_graph_inputs(directory, [(port.name, port.dtype) for port in inputs])
    ports = {port.name: port for port in inputs}
    for index, spec in enumerate(directory.inputs):
        port = ports.get(spec.name, inputs[0] if len(inputs) == 1 else None)
        if port is None:
            continue
        dims, expected = list(port.shape), list(spec.shape)
        if len(dims) != len(expected) or any(d is not None and e is not None and d != e for d, e in zip(dims, expected)):
            raise ModelDirError(f"{directory.path / METADATA_FILE}: inputs[{index}].shape {expected} of input {spec.name!r} "
                                f"is not the ONNX graph's input shape {dims} ({directory.onnx_path}); export the "
                                f"classifier again")
    if outputs and len(outputs[0].shape) in (1, 2):
        graph_values = outputs[0].shape[1] if len(outputs[0].shape) == 2 else 1
        if graph_values is not None and graph_values != directory.output.n_values:
            raise ModelDirError(f"{directory.path / METADATA_FILE}: output.shape {list(directory.output.shape)} but the "
                                f"ONNX graph's output {outputs[0].name!r} has {graph_values} values per row")


def check_variants(directory: ModelDir, backends: Iterable[str]) -> None:
    """Check the classifier directory holds what each configured variant needs (e.g. a valid INT8 model)."""
    if any(VARIANTS.get(name) and VARIANTS[name].options.get("int8_model") is True for name in backends):
        from pytest_drlreward.classifier.int8 import open_int8_model

        open_int8_model(True, directory)


def _backend_class(name: str) -> Any:
    return resolve(REGISTRY[base_backend(name)].target, f"the {name} backend class")  # numpy, not the engine


def check_backend_options(table: dict[str, dict[str, Any]], backends: Iterable[str]) -> None:
    """Check ``drl_backend_options``: backend names exist and each backend's constructor takes its options."""
    unknown = [name for name in table if name != ALL_BACKENDS and name not in CANDIDATE_NAMES]
    if unknown:
        raise ValueError(f"options for unknown backend {unknown[0]!r}; backends: {', '.join(CANDIDATE_NAMES)}")
    from pytest_drlreward.backends.base import check_threads

    for name in dict.fromkeys([REFERENCE_BACKEND, *backends, *(n for n in table if n != ALL_BACKENDS)]):
        options = options_for(table, name)
        if not options:
            continue
        parameters = inspect.signature(_backend_class(name).__init__).parameters
        taken = [p for p in parameters if p not in ("self", "model_dir")]
        bad = [key for key in options if key not in taken]
        if bad:
            raise ValueError(f"backend {name!r} takes no option {bad[0]!r}; its options: {', '.join(taken)}")
        if "threads" in options:
            check_threads(options["threads"], name)
