"""Prove an ONNX graph loads before a classifier directory is written around it.

:func:`prove_graph_loads` compiles the graph on every installed engine (ONNX Runtime, then OpenVINO;
an engine that is not installed is skipped and named) and runs it on one batch. An engine that cannot
is a :class:`GraphLoadError` naming the engine, the operators it has no implementation for (read from
its own message: OpenVINO's ``No conversion rule found for operations: SequenceMap-20, ...``, ONNX
Runtime's ``... is not a registered function/op``) and, for a known cause, the fix. Only numpy and the
engines (imported here, when called) are used.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LOG = logging.getLogger(__name__)
ENGINES = ("onnxruntime", "openvino")  # the engines a classifier directory is run on, in the order tried
CHECK_BATCH = 3  # rows of the batch each engine runs: not the 2 (or 1) an exporter traces with
SEQUENCE_FIX = ("ONNX Sequence operators come from a Python list joined with torch.hstack / torch.vstack / "
                "torch.stack (the exporter maps the list to a Sequence): join the cameras with "
                "torch.cat((a, b), dim=1) on tensors, not a Python list, and export again")
_OPERATOR_PATTERNS = (
    re.compile(r"No conversion rule found for operations:\s*([^\n]+)"),  # OpenVINO
    re.compile(r"(\S+\(-?\d+\)) is not a registered function/op"),  # ONNX Runtime: unknown op or domain
    re.compile(r"Could not find an implementation for (\S+\(\d+\))"),  # ONNX Runtime: op without a CPU kernel
)


class GraphLoadError(ValueError):
    """An installed engine cannot compile or run the ONNX graph; ``engine`` and ``operators`` say which and why."""

    def __init__(self, message: str, engine: str, operators: Sequence[str]) -> None:
        super().__init__(message)
        self.engine = engine
        self.operators = tuple(operators)


@dataclass(frozen=True)
class LoadProof:
    """Which engines compiled and ran the graph, and which were skipped (not installed)."""

    compiled: tuple[str, ...]
    not_installed: tuple[str, ...]

    def describe(self) -> str:
        ran = f"compiled and ran on {', '.join(self.compiled)}" if self.compiled else "not compiled on any engine"
        return ran + (f" ({', '.join(self.not_installed)} not installed)" if self.not_installed else "")


def unsupported_operators(message: str) -> list[str]:
    """The operators an engine's error message says it cannot convert or run (empty if it names none)."""
    found: list[str] = []
    for pattern in _OPERATOR_PATTERNS:
        for match in pattern.finditer(message):
            found += [name.strip() for name in match.group(1).split(",") if name.strip()]
    return list(dict.fromkeys(found))


def fix_for(operators: Sequence[str]) -> str | None:
    """The fix for a known cause of unsupported operators, or None."""
    if any("Sequence" in name for name in operators):
        return SEQUENCE_FIX
    return None


def _engine_lines(error: BaseException) -> str:
    """The engine's message without its C++ source locations, on one line."""
    lines = [line.strip() for line in str(error).splitlines()]
    kept = [line for line in lines if line and not line.startswith(("Exception from", "Check '"))]
    return " ".join(kept)


def _batch(inputs: Mapping[str, np.ndarray] | None, ports: Sequence[tuple[str, str, tuple]]) -> dict[str, np.ndarray]:
    """One batch by graph input name: the given inputs' rows repeated to CHECK_BATCH rows, else zeros of
    the port's dtype and shape (a fixed batch axis keeps its size)."""
    batch = {}
    for name, dtype, shape in ports:
        rows = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else CHECK_BATCH
        if inputs is not None and name in inputs:
            given = np.asarray(inputs[name])
            batch[name] = np.ascontiguousarray(np.resize(given, (rows, *given.shape[1:])).astype(given.dtype))
        else:
            batch[name] = np.zeros((rows, *(int(n) for n in shape[1:])), dtype=dtype)
    return batch


def _onnxruntime(path: Path, inputs: Mapping[str, np.ndarray] | None) -> tuple[int, Any]:
    import onnxruntime as ort

    from pytest_drlreward.classifier.graph import dtype_name

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ports = [(i.name, dtype_name(i.type), tuple(i.shape)) for i in session.get_inputs()]
    feed = _batch(inputs, ports)
    return len(next(iter(feed.values()))), session.run(None, feed)[0]


def _openvino(path: Path, inputs: Mapping[str, np.ndarray] | None) -> tuple[int, Any]:
    import openvino as ov

    from pytest_drlreward.classifier.graph import dtype_name

    compiled = ov.Core().compile_model(str(path), "CPU")
    ports = [(p.get_any_name(), dtype_name(p.get_element_type().get_type_name()),
              tuple(d.get_length() if d.is_static else None for d in p.get_partial_shape())) for p in compiled.inputs]
    feed = _batch(inputs, ports)
    result = compiled(feed)
    return len(next(iter(feed.values()))), result[compiled.outputs[0]]


_RUNNERS = {"onnxruntime": _onnxruntime, "openvino": _openvino}
_TITLES = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}


def prove_graph_loads(onnx_path: str | Path, inputs: Mapping[str, np.ndarray] | None = None,
                      what: str | None = None) -> LoadProof:
    """Compile ``onnx_path`` on every installed engine and run it on a batch of ``CHECK_BATCH`` rows
    (``inputs`` by graph input name, repeated to that many rows; zeros where not given).

    Raises :class:`GraphLoadError` naming the engine, the unsupported operators and the fix when one
    is known; the output must have a row per input row (a dynamic batch axis). ``what`` names the graph
    in messages (default its path). Logs which engines ran.
    """
    path = Path(onnx_path)
    what = what or str(path)
    compiled, missing = [], []
    for engine in ENGINES:
        if importlib.util.find_spec(engine) is None:
            missing.append(engine)
            continue
        try:
            rows, output = _RUNNERS[engine](path, inputs)
        except Exception as error:  # each engine raises its own types
            raise _load_error(engine, error, what) from None
        shape = tuple(np.shape(output))
        if not shape or shape[0] != rows:
            raise GraphLoadError(f"{_TITLES[engine]} ran {what} on a batch of {rows} and got an output "
                                 f"of shape {shape}: the output's first axis must be the batch (export with a dynamic "
                                 f"batch axis)", engine, ())
        compiled.append(engine)
    proof = LoadProof(tuple(compiled), tuple(missing))
    if compiled:
        LOG.info("%s: %s", what, proof.describe())
    else:
        LOG.warning("%s was not compiled on any engine (%s not installed): nothing proves it loads", what,
                    " and ".join(missing))
    return proof


def _load_error(engine: str, error: BaseException, what: str) -> GraphLoadError:
    detail = _engine_lines(error)
    operators = unsupported_operators(str(error))
    named = f": it has no implementation for {', '.join(operators)}" if operators else ""
    fix = fix_for(operators)
    message = (f"{_TITLES[engine]} cannot load {what}{named}. " + (f"Fix: {fix}. " if fix else "")
               + f"Nothing was written. ({_TITLES[engine]} says: {detail})")
    return GraphLoadError(message, engine, operators)
