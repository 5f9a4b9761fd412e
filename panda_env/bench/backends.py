"""Per-call latency of the reward backends on the same images, measured in one run.

When the classifier directory holds its own INT8 model (``<model_dir>/int8``, see
``panda_env.reward.quantize``), ``backend_latency_table`` adds the row ``openvino-int8``: the OpenVINO
backend compiling that INT8 IR (needs OpenVINO only, not NNCF).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from panda_env.reward import BACKEND_NAMES, ModelDir, load_backend, open_model_dir
from pytest_drlreward.classifier.int8 import has_int8_model
from pytest_drlreward.timing import median_ms

INT8_ROW = "openvino-int8"


def median_call_ms(backend, images: np.ndarray, rounds: int = 200, warmup: int = 20) -> float:
    """Median wall time of ``backend.logits(images)`` in milliseconds."""
    return median_ms(lambda: backend.logits(images), rounds, warmup)


def interleaved_median_ms(backends: dict, images: np.ndarray, rounds: int, repeats: int = 5,
                          warmup: int = 20) -> dict[str, float]:
    """Median ms per ``logits(images)`` call of each backend, timed in ``repeats`` alternating blocks.

    Interleaving the backends block by block lets machine noise hit them alike.
    """
    samples = interleaved_samples_ms(backends, images, rounds, repeats, warmup)
    return {name: float(np.median(s)) for name, s in samples.items()}


def interleaved_samples_ms(backends: dict, images: np.ndarray, rounds: int, repeats: int = 5, warmup: int = 20,
                           tick=None) -> dict[str, list[float]]:
    """The ``repeats`` block medians (ms per call) of each backend, blocks alternating; ``tick()`` after each."""
    samples: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(repeats):
        for name, backend in backends.items():
            samples[name].append(median_call_ms(backend, images, max(rounds // repeats, 1), warmup))
            if tick is not None:
                tick()
    return samples


def backend_latency_table(model_dir: str | Path | ModelDir | None = None, backends=BACKEND_NAMES,
                          batch_sizes=(1, 8), rounds: int = 200, seed: int = 0,
                          int8: bool | None = None, warmup: int = 20, threads: int | None = None,
                          progress_bar: bool = False) -> list[dict]:
    """Rows of backend, batch, median ms, ms per image and speed-up against Torch eager.

    ``int8``: add the ``openvino-int8`` row; ``None`` (default) adds it when the directory has ``int8/``.
    ``threads``: every engine's thread count (None: each engine's default).
    Each backend gets ``warmup`` untimed calls before each of its 5 interleaved timing blocks.
    """
    directory = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    options = {} if threads is None else {"threads": threads}
    loaded = {name: load_backend(name, directory, **options) for name in backends}
    if int8 or (int8 is None and has_int8_model(directory)):
        loaded[INT8_ROW] = load_backend("openvino", directory, int8_model=True, **options)
    from panda_env.bench.spread import ratio_iqr
    from panda_env.training.bar import progress

    rng = np.random.default_rng(seed)
    rows = []
    bar = progress(len(batch_sizes) * 5 * len(loaded), "bench-backends", unit="block") if progress_bar else None
    for batch in batch_sizes:
        images = rng.integers(0, 256, (batch, *directory.image_shape), dtype=np.uint8)
        samples = interleaved_samples_ms(loaded, images, rounds, warmup=warmup, tick=bar.update if bar else None)
        reference = samples.get("torch")
        for name, blocks in samples.items():
            ms = float(np.median(blocks))
            speedup = ratio_iqr(reference, blocks) if reference and name != "torch" else None
            rows.append({"backend": name, "batch": batch, "median_ms": ms, "ms_per_image": ms / batch,
                         "speedup_vs_torch": 1.0 if name == "torch" else speedup.value if speedup else float("nan"),
                         "speedup_vs_torch_iqr": [speedup.low, speedup.high] if speedup and speedup.width else None})
    if bar is not None:
        bar.close()
    return rows


def int8_comparison(model_dir: str | Path | ModelDir | None, images: np.ndarray, labels: np.ndarray,
                    int8_model: str | Path | bool = True, batch_sizes=(1, 8), rounds: int = 100,
                    chunk: int = 64, warmup: int = 20) -> dict:
    """INT8 against f32 OpenVINO on labelled images: argmax agreement, accuracies and latency.

    Decisions cover all ``images`` (run ``chunk`` at a time); latency is the interleaved median ms per
    call at each batch size, on the first images (repeated when there are fewer than the batch).
    ``labels``: 1 = goal, 0 = not goal, as in a capture directory.
    """
    directory = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    loaded = {"f32": load_backend("openvino", directory),
              "int8": load_backend("openvino", directory, int8_model=int8_model)}
    argmax = {name: np.concatenate([np.argmax(backend.logits(images[i:i + chunk]), axis=1)
                                    for i in range(0, len(images), chunk)])
              for name, backend in loaded.items()}
    truth = np.asarray(labels).astype(bool)
    agree = int((argmax["f32"] == argmax["int8"]).sum())
    accuracy = {name: float(np.mean((a == directory.goal_index) == truth)) for name, a in argmax.items()}
    latency = {}
    for batch in batch_sizes:
        latency[batch] = interleaved_median_ms(loaded, images[np.arange(batch) % len(images)], rounds,
                                                warmup=warmup)
    return {"n": len(images), "agree": agree, "agreement": agree / len(images), "accuracy": accuracy,
            "latency_ms": latency}
