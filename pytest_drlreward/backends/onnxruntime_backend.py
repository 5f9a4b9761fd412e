"""ONNX Runtime backend (CPU execution provider)."""

from __future__ import annotations

import numpy as np

from pytest_drlreward.backends.base import RewardBackend, check_threads, require
from pytest_drlreward.classifier.directory import ModelDir, ModelDirError
from pytest_drlreward.classifier.graph import check_graph_inputs


class OnnxRuntimeBackend(RewardBackend):
    """Runs ``classifier.onnx`` with ONNX Runtime; ``threads`` sets intra-op threads."""

    name = "onnxruntime"

    def __init__(self, model_dir: ModelDir, threads: int | None = None) -> None:
        super().__init__(model_dir)
        ort = require("onnxruntime", "the 'onnxruntime' backend", extra="onnxruntime")
        threads = check_threads(threads, self.name)
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            # the verified bytes, not the path: a file swapped after the hash check cannot run
            self._session = ort.InferenceSession(model_dir.onnx_bytes(), options, providers=["CPUExecutionProvider"])
        except ModelDirError:
            raise
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelDirError(f"ONNX Runtime cannot load {model_dir.onnx_path}: {error}") from error
        graph_inputs = self._session.get_inputs()
        check_graph_inputs(model_dir, [(i.name, i.type) for i in graph_inputs])
        self._single = graph_inputs[0].name if len(graph_inputs) == 1 else None  # fed by position

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {self._single: next(iter(inputs.values()))} if self._single else inputs
        return self._session.run(None, feed)[0].astype(np.float32, copy=False)
