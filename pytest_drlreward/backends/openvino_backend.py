"""OpenVINO backend: compiles the ONNX graph for the CPU with the current ``openvino`` API.

On CPUs with bf16 support OpenVINO defaults to bf16 inference, which moves logits by ~1e-3 against
Torch; this backend asks for f32 (``precision="f32"``, the default) so it matches Torch to ~1e-6 at
no measured cost. ``precision="bf16"`` and any other OpenVINO properties (``config={...}``, e.g.
``{"PERFORMANCE_HINT": "THROUGHPUT"}``) can be passed.

Per call: the LATENCY hint runs one stream (``NUM_STREAMS`` 1: one synchronous request at a time); a graph
whose only input has a dynamic batch axis is compiled again for each batch size it meets (up to
``STATIC_BATCHES`` of them), because OpenVINO's CPU plugin runs a static shape with less work per call
than the dynamic one (shape inference, memory planning); an input array is the input tensor itself
(``shared_memory``), not a copy. See docs/results.md for the figures.

``int8_model=<directory or its classifier_int8.xml>`` compiles an INT8 IR written by
NNCF (see ``pytest_drlreward.classifier.int8``) instead of the f32 graph, after checking that it was
quantised from this ``model_dir``'s ONNX file (same sha256). Its non-quantised operations still run at
``precision``. ``int8_model=True`` compiles the classifier directory's own INT8 model,
``<model_dir>/int8``; ``ModelDirError`` if it is missing. Only files listed and verified in the
metadata are compiled: the directory's ONNX file, or the hash-checked INT8 IR.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pytest_drlreward.backends.base import RewardBackend, check_threads, require
from pytest_drlreward.classifier.directory import ModelDir, ModelDirError
from pytest_drlreward.classifier.graph import check_graph_inputs
from pytest_drlreward.classifier.int8 import read_int8_model
from pytest_drlreward.util.extras import BackendUnavailableError

PRECISIONS = ("f32", "bf16", "f16")


def optimization_capabilities(device: str = "CPU") -> tuple[str, ...]:
    """What OpenVINO reports this machine's ``device`` can compute in (e.g. ``('FP32', 'INT8', 'BF16')``).

    A CPU without ``BF16`` here runs the bf16 precision hint in f32: read it, never assume it.
    """
    ov = require("openvino", "the 'openvino' backend", extra="openvino")
    return tuple(str(item) for item in ov.Core().get_property(device, "OPTIMIZATION_CAPABILITIES"))


def read_verified_model(core, model_dir: ModelDir, int8_model: str | Path | bool | None = None) -> tuple[Path, object]:
    """(the file it came from, the OpenVINO model) read from the verified bytes, never from a path an engine
    opens after the hash check: the ONNX graph (external data copied in), or the INT8 IR (xml and weights)."""
    if int8_model is not None:
        int8 = read_int8_model(int8_model, model_dir)
        import openvino as ov

        weights = ov.Tensor(np.frombuffer(int8.bin_bytes, dtype=np.uint8).copy())
        source, read = int8.xml, lambda: core.read_model(int8.xml_bytes, weights)
    else:
        source, read = model_dir.onnx_path, lambda: core.read_model(model_dir.onnx_bytes())
    try:
        return source, read()
    except RuntimeError as error:
        raise ModelDirError(f"OpenVINO cannot read {source}: {error}") from error


PERFORMANCE_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
STATIC_BATCHES = 4  # batch sizes compiled with a static shape; others run on the dynamic graph


def _batch_only_dynamic(model) -> bool:
    """Whether ``model`` has one input whose only dynamic dimension is the first (the batch)."""
    if len(model.inputs) != 1:
        return False
    shape = model.inputs[0].get_partial_shape()
    return shape.rank.is_static and shape[0].is_dynamic and all(d.is_static for d in list(shape)[1:])


class OpenVinoBackend(RewardBackend):
    """One compiled model and one reusable infer request (synchronous, latency hint)."""

    name = "openvino"

    def __init__(self, model_dir: ModelDir, precision: str = "f32", threads: int | None = None,
                 performance_hint: str = "LATENCY", device: str = "CPU", config: dict | None = None,
                 int8_model: str | Path | bool | None = None) -> None:
        super().__init__(model_dir)
        if precision not in PRECISIONS:
            raise ValueError(f"unknown OpenVINO precision {precision!r}; allowed values: {', '.join(PRECISIONS)}")
        if performance_hint not in PERFORMANCE_HINTS:
            raise ValueError(f"unknown OpenVINO performance_hint {performance_hint!r}; allowed values: "
                             f"{', '.join(PERFORMANCE_HINTS)}")
        if config is not None and not isinstance(config, dict):
            raise ValueError(f"OpenVINO config must be a dict of properties, got {config!r}")
        ov = require("openvino", "the 'openvino' backend", extra="openvino")
        threads = check_threads(threads, self.name)
        properties = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": performance_hint}
        if performance_hint == "LATENCY":
            properties["NUM_STREAMS"] = 1
        if threads is not None:
            properties["INFERENCE_NUM_THREADS"] = threads
        properties.update(config or {})
        core = ov.Core()
        if precision == "bf16" and "BF16" not in optimization_capabilities(device):  # it would run f32: no bf16 verified
            raise BackendUnavailableError(f"OpenVINO's {device} here computes in {', '.join(optimization_capabilities(device))}"
                                          f" (no BF16): precision='bf16' would run f32; use a CPU with bf16 (AVX512_BF16/AMX)")
        if device not in core.available_devices:
            raise ValueError(f"OpenVINO device {device!r} is not available here; available: "
                             f"{', '.join(core.available_devices)}")
        self.int8 = int8_model is not None and int8_model is not False
        source, model = read_verified_model(core, model_dir, int8_model if self.int8 else None)
        try:
            self.compiled = core.compile_model(model, device, properties)
        except RuntimeError as error:
            raise self._explain(core, model, source, device, properties, error) from error
        self._request = self.compiled.create_infer_request()
        self._ov = ov
        # per batch size: a request compiled for that static shape (None: that size runs on the dynamic one)
        self._static: dict[tuple, object] = {}
        self._inputs: dict[tuple, np.ndarray] = {}  # per static shape: its request's own input tensor, as an array
        self._static_from = (core, model, device, properties) if _batch_only_dynamic(model) else None
        if not self.int8:
            check_graph_inputs(model_dir, [(port.get_any_name(), port.get_element_type().get_type_name())
                                           for port in self.compiled.inputs])
        self.properties = properties
        self.source = source  # the file compiled: the ONNX file or the INT8 IR

    @staticmethod
    def _explain(core, model, source: Path, device: str, properties: dict, error: Exception) -> Exception:
        """Which of the options OpenVINO refused (each tried alone), or the model file if it fails without them."""
        try:
            core.compile_model(model, device)
        except RuntimeError:
            return ModelDirError(f"OpenVINO cannot compile {source}: {error}")
        bad = []
        for key, value in properties.items():
            try:
                core.compile_model(model, device, {key: value})
            except RuntimeError:
                bad.append(f"{key}={value!r}")
        lines = [line for line in str(error).splitlines() if line.strip() and not line.startswith("Exception from")]
        return ValueError(f"OpenVINO refused the option(s) {', '.join(bad) or properties} on {device}: {' '.join(lines)}")

    def _request_for(self, shape: tuple):
        """The infer request for an input of ``shape``: its static-shape compilation when there is one."""
        request = self._static.get(shape)
        if request is None and self._static_from is not None and shape not in self._static:
            if len(self._static) < STATIC_BATCHES:
                core, model, device, properties = self._static_from
                static = model.clone()
                static.reshape({0: list(shape)})
                request = core.compile_model(static, device, properties).create_infer_request()
                self._inputs[shape] = request.get_input_tensor().data
            self._static[shape] = request
        return request or self._request

    def _input_buffer(self, array: np.ndarray) -> np.ndarray | None:
        """The input tensor of the static request for ``array``'s shape, when ``array`` can be copied into it."""
        buffer = self._inputs.get(array.shape)
        return buffer if buffer is not None and buffer.dtype == array.dtype else None

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if len(inputs) == 1:
            array = next(iter(inputs.values()))
            request = self._request_for(array.shape)
            buffer = self._input_buffer(array)
            if buffer is not None:  # copied into the request's own tensor: about 20 us a call less than a new Tensor
                np.copyto(buffer, array)
            else:  # the array itself as the input tensor
                array = np.ascontiguousarray(array)
                if not array.flags.writeable:  # OpenVINO shares only writeable memory
                    array = array.copy()
                request.set_input_tensor(self._ov.Tensor(array, shared_memory=True))
                self._inputs.pop(array.shape, None)  # that request's own tensor is no longer its input
            request.infer()
        else:
            request = self._request
            request.infer(inputs)
        return np.array(request.get_output_tensor(0).data, dtype=np.float32)
