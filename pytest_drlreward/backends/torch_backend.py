"""PyTorch eager backend: the reference the others are compared with."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from pytest_drlreward.backends.base import RewardBackend, check_threads, require
from pytest_drlreward.classifier.directory import ModelDir


class TorchBackend(RewardBackend):
    """Eager PyTorch under ``inference_mode``; ``threads`` sets torch's intra-op thread count for this
    backend's calls only (torch's setting is process-wide, so it is given back after each call)."""

    name = "torch"

    def __init__(self, model_dir: ModelDir, threads: int | None = None, trust_code: bool = False,
                 trusted_modules: Iterable[str] = ()) -> None:
        super().__init__(model_dir)
        self._torch: Any = require("torch", "the 'torch' backend", extra="torch")
        self.threads = check_threads(threads, self.name)
        # which factory may run: pytest_drlreward.util.allowlist (trusted_modules, and trust_code for code in the directory)
        self.module = model_dir.build_torch_module(trust_code, tuple(trusted_modules))

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """One input: passed positionally (whatever ``forward`` calls it); several: by name."""
        torch = self._torch
        tensors = {name: torch.from_numpy(array if array.flags.writeable else array.copy())  # from_numpy warns on read-only
                   for name, array in inputs.items()}
        previous = torch.get_num_threads()
        if self.threads is not None and self.threads != previous:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                out = self.module(*tensors.values()) if len(tensors) == 1 else self.module(**tensors)
                if isinstance(out, (tuple, list)):
                    out = out[0]
                return out.numpy().astype(np.float32, copy=False)
        finally:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)
