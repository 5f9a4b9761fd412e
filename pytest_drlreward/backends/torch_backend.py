"""PyTorch eager backend: the reference the others are compared with."""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_drlreward.backends.base import RewardBackend, check_threads, require
from pytest_drlreward.classifier.directory import ModelDir


class TorchBackend(RewardBackend):
    """Eager PyTorch under ``inference_mode``; ``threads`` sets torch's intra-op thread count for this
    backend's calls only (torch's setting is process-wide, so it is given back after each call)."""

    name = "torch"

    def __init__(self, model_dir: ModelDir, threads: int | None = None, trust_code: bool = False) -> None:
        super().__init__(model_dir)
        self._torch: Any = require("torch", "the 'torch' backend", extra="torch")
        self.threads = check_threads(threads, self.name)
        self.module = model_dir.build_torch_module(trust_code)  # trust_code: see classifier/trust.py

    def _logits(self, images: np.ndarray) -> np.ndarray:
        if not images.flags.writeable:  # torch.from_numpy warns on read-only arrays
            images = images.copy()
        torch = self._torch
        previous = torch.get_num_threads()
        if self.threads is not None and self.threads != previous:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                return self.module(torch.from_numpy(images)).numpy().astype(np.float32, copy=False)
        finally:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)
