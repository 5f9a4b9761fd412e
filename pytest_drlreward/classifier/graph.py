"""What an ONNX graph takes and gives (names, dtypes, shapes), read without torch.

``graph_signature`` reads it with ``onnx`` when installed, else ONNX Runtime, else OpenVINO (an
``[onnxruntime,openvino]``-only install has no ``onnx``). ``check_graph_inputs`` compares a graph's
inputs with a directory's ``inputs``: a name the graph lacks or a dtype it refuses is one
``ModelDirError`` naming ``metadata.json``, the field and the value.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_drlreward.classifier.metadata import ModelDirError

# engine type names -> our dtype names
_DTYPES = {"tensor(uint8)": "uint8", "tensor(float)": "float32", "u8": "uint8", "f32": "float32",
           "uint8": "uint8", "float32": "float32", "float": "float32"}
_ONNX_ELEMENT_TYPES = {1: "float32", 2: "uint8"}


@dataclass(frozen=True)
class Port:
    """One graph input or output: name, dtype (``uint8``, ``float32`` or the engine's name) and shape
    (``None`` for a dynamic axis)."""

    name: str
    dtype: str
    shape: tuple[int | None, ...]


def dtype_name(engine_type: Any) -> str:
    """Our dtype name for an engine's type string (``tensor(float)`` -> ``float32``)."""
    text = str(engine_type)
    return _DTYPES.get(text, text)


def _with_onnx(path: Path) -> tuple[list[Port], list[Port]]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initialisers = {init.name for init in model.graph.initializer}

    def ports(values: Any) -> list[Port]:
        out = []
        for value in values:
            if value.name in initialisers:
                continue
            tensor = value.type.tensor_type
            shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
            out.append(Port(value.name, _ONNX_ELEMENT_TYPES.get(tensor.elem_type, str(tensor.elem_type)), shape))
        return out

    return ports(model.graph.input), ports(model.graph.output)


def _with_onnxruntime(path: Path) -> tuple[list[Port], list[Port]]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def ports(values: Any) -> list[Port]:
        return [Port(v.name, dtype_name(v.type), tuple(d if isinstance(d, int) else None for d in v.shape))
                for v in values]

    return ports(session.get_inputs()), ports(session.get_outputs())


def _with_openvino(path: Path) -> tuple[list[Port], list[Port]]:
    import openvino as ov

    model = ov.Core().read_model(str(path))

    def ports(values: Any) -> list[Port]:
        return [Port(p.get_any_name(), dtype_name(p.get_element_type().get_type_name()),
                     tuple(d.get_length() if d.is_static else None for d in p.get_partial_shape())) for p in values]

    return ports(model.inputs), ports(model.outputs)


GRAPH_READERS = ("onnx", "onnxruntime", "openvino")


def can_read_graphs() -> bool:
    """Whether one of the packages that read an ONNX graph is installed (none is in the base install)."""
    return any(importlib.util.find_spec(package) is not None for package in GRAPH_READERS)


def graph_signature(onnx_path: str | Path) -> tuple[list[Port], list[Port]]:
    """(inputs, outputs) of an ONNX file, read with onnx, ONNX Runtime or OpenVINO (whichever is installed)."""
    path = Path(onnx_path)
    for package, reader in (("onnx", _with_onnx), ("onnxruntime", _with_onnxruntime), ("openvino", _with_openvino)):
        if importlib.util.find_spec(package) is not None:
            try:
                return reader(path)
            except ModelDirError:
                raise
            except Exception as error:  # each engine raises its own types
                raise ModelDirError(f"cannot read the ONNX graph {path} with {package}: {error}") from error
    raise ModelDirError(f"reading {path} needs onnx, onnxruntime or openvino; none is installed: "
                        f'pip install "pytest-drlreward[onnxruntime]"')


def check_graph_inputs(model_dir: Any, graph_inputs: list[tuple[str, Any]]) -> None:
    """Check a directory's ``inputs`` against the graph's (name, engine type) pairs."""
    meta_path = Path(model_dir.path) / "metadata.json"
    graph = {name: dtype_name(kind) for name, kind in graph_inputs}
    for index, spec in enumerate(model_dir.inputs):
        if spec.name not in graph and len(model_dir.inputs) == 1 and len(graph) == 1:
            graph = {spec.name: next(iter(graph.values()))}  # one input: fed by position, whatever its graph name
        if spec.name not in graph:
            raise ModelDirError(f"{meta_path}: inputs[{index}].name {spec.name!r} is not an input of the ONNX graph "
                                f"{model_dir.onnx_path.name}, which takes {sorted(graph)}")
        if graph[spec.name] != spec.dtype:
            raise ModelDirError(f"{meta_path}: inputs[{index}].dtype {spec.dtype!r} of input {spec.name!r}: the ONNX "
                                f"graph takes {graph[spec.name]}")
    if len(graph) != len(model_dir.inputs):
        raise ModelDirError(f"{meta_path}: inputs names {[s.name for s in model_dir.inputs]}, but the ONNX graph "
                            f"takes {len(graph)} inputs {sorted(graph)}")
