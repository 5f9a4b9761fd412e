"""Per-call latency of the reward backends on the same images, measured in one run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from panda_env.reward import BACKEND_NAMES, load_backend, open_model_dir
from panda_env.training.stopwatch import median_ms


def median_call_ms(backend, images: np.ndarray, rounds: int = 200, warmup: int = 20) -> float:
    """Median wall time of ``backend.logits(images)`` in milliseconds."""
    return median_ms(lambda: backend.logits(images), rounds, warmup)


def backend_latency_table(model_dir: str | Path | None = None, backends=BACKEND_NAMES,
                          batch_sizes=(1, 8), rounds: int = 200, seed: int = 0) -> list[dict]:
    """Rows of backend, batch, median ms, ms per image and speed-up against Torch eager."""
    directory = open_model_dir(model_dir)
    loaded = {name: load_backend(name, directory) for name in backends}
    rng = np.random.default_rng(seed)
    rows = []
    for batch in batch_sizes:
        images = rng.integers(0, 256, (batch, *directory.image_shape), dtype=np.uint8)
        # Interleave the backends round by round so machine noise hits them alike.
        samples: dict[str, list[float]] = {name: [] for name in loaded}
        for _ in range(5):
            for name, backend in loaded.items():
                samples[name].append(median_call_ms(backend, images, max(rounds // 5, 1)))
        medians = {name: float(np.median(s)) for name, s in samples.items()}
        reference = medians.get("torch")
        for name, ms in medians.items():
            rows.append({"backend": name, "batch": batch, "median_ms": ms, "ms_per_image": ms / batch,
                         "speedup_vs_torch": reference / ms if reference else float("nan")})
    return rows
