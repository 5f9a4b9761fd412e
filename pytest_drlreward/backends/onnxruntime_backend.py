"""ONNX Runtime backend (CPU execution provider)."""

from __future__ import annotations

import numpy as np

from pytest_drlreward.backends.base import RewardBackend, check_threads, require
from pytest_drlreward.classifier.directory import ModelDir, ModelDirError


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
            self._session = ort.InferenceSession(str(model_dir.onnx_path), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelDirError(f"ONNX Runtime cannot load {model_dir.onnx_path}: {error}") from error
        self._input = self._session.get_inputs()[0].name

    def _logits(self, images: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: images})[0].astype(np.float32, copy=False)
