"""OpenVINO backend: compiles the ONNX graph for the CPU with the current ``openvino`` API.

On CPUs with bf16 support OpenVINO defaults to bf16 inference, which moves logits by ~1e-3 against
Torch; this backend asks for f32 (``precision="f32"``, the default) so it matches Torch to ~1e-6 at
no measured cost. ``precision="bf16"`` and any other OpenVINO properties (``config={...}``, e.g.
``{"PERFORMANCE_HINT": "THROUGHPUT"}``) can be passed.

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
from pytest_drlreward.classifier.int8 import open_int8_model

PRECISIONS = ("f32", "bf16", "f16")


def optimization_capabilities(device: str = "CPU") -> tuple[str, ...]:
    """What OpenVINO reports this machine's ``device`` can compute in (e.g. ``('FP32', 'INT8', 'BF16')``).

    A CPU without ``BF16`` here runs the bf16 precision hint in f32: read it, never assume it.
    """
    ov = require("openvino", "the 'openvino' backend", extra="openvino")
    return tuple(str(item) for item in ov.Core().get_property(device, "OPTIMIZATION_CAPABILITIES"))
PERFORMANCE_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")


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
        if threads is not None:
            properties["INFERENCE_NUM_THREADS"] = threads
        properties.update(config or {})
        core = ov.Core()
        if device not in core.available_devices:
            raise ValueError(f"OpenVINO device {device!r} is not available here; available: "
                             f"{', '.join(core.available_devices)}")
        self.int8 = int8_model is not None and int8_model is not False
        if self.int8:
            source = open_int8_model(int8_model, model_dir)
        else:
            source = model_dir.onnx_path
        try:
            self.compiled = core.compile_model(str(source), device, properties)
        except RuntimeError as error:
            raise self._explain(core, source, device, properties, error) from error
        self._request = self.compiled.create_infer_request()
        if not self.int8:
            check_graph_inputs(model_dir, [(port.get_any_name(), port.get_element_type().get_type_name())
                                           for port in self.compiled.inputs])
        self.properties = properties
        self.source = source  # the file compiled: the ONNX file or the INT8 IR

    @staticmethod
    def _explain(core, source: Path, device: str, properties: dict, error: Exception) -> Exception:
        """Which of the options OpenVINO refused (each tried alone), or the model file if it fails without them."""
        try:
            core.compile_model(str(source), device)
        except RuntimeError:
            return ModelDirError(f"OpenVINO cannot compile {source}: {error}")
        bad = []
        for key, value in properties.items():
            try:
                core.compile_model(str(source), device, {key: value})
            except RuntimeError:
                bad.append(f"{key}={value!r}")
        lines = [line for line in str(error).splitlines() if line.strip() and not line.startswith("Exception from")]
        return ValueError(f"OpenVINO refused the option(s) {', '.join(bad) or properties} on {device}: {' '.join(lines)}")

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if len(inputs) == 1:
            self._request.infer({0: next(iter(inputs.values()))})
        else:
            self._request.infer(inputs)
        return np.array(self._request.get_output_tensor(0).data, dtype=np.float32)
