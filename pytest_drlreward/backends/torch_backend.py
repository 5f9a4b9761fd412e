"""PyTorch eager backend: the reference the others are compared with."""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_drlreward.backends.base import RewardBackend, check_threads, require
from pytest_drlreward.classifier.directory import ModelDir


class TorchBackend(RewardBackend):
    """Eager PyTorch under ``inference_mode``; ``threads`` sets torch's (process-wide) intra-op thread count."""

    name = "torch"

    def __init__(self, model_dir: ModelDir, threads: int | None = None) -> None:
        super().__init__(model_dir)
        self._torch: Any = require("torch", "the 'torch' backend", extra="torch")
        threads = check_threads(threads, self.name)
        if threads is not None:
            self._torch.set_num_threads(threads)
        self.module = model_dir.build_torch_module()

    def _logits(self, images: np.ndarray) -> np.ndarray:
        if not images.flags.writeable:  # torch.from_numpy warns on read-only arrays
            images = images.copy()
        with self._torch.inference_mode():
            return self.module(self._torch.from_numpy(images)).numpy().astype(np.float32, copy=False)
