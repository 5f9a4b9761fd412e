"""Golden outputs: a backend's logits on the labelled images, saved to compare later runs against.

``save_golden`` writes ``<directory>/<backend>.npz`` (logits, the sha256 of the images, where and with
which engine version they were computed); ``load_golden`` gives them back as a backend-like object
(``.name``, ``.logits(images)``) so the usual parity checks say what moved, element by element.
No pytest here.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.backends import REGISTRY, base_backend
from pytest_drlreward.checks._inputs import batch_len
from pytest_drlreward.classifier.decision import DecisionRule
from pytest_drlreward.util.atomic import atomic_file


class GoldenError(AssertionError):
    """No golden file for a backend, or it was saved for other images."""


def images_digest(images: Any) -> str:
    """sha256 of the inputs' shapes and bytes (one array, or a dict name -> array)."""
    named = images if isinstance(images, dict) else {"": images}
    digest = hashlib.sha256()
    for name in sorted(named):
        array = np.ascontiguousarray(named[name])
        digest.update(repr((name, array.dtype.str, array.shape) if name else (array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def engine_version(backend: str) -> str:
    """``package version`` of the engine behind a backend name (``unknown`` if not found)."""
    try:
        package = REGISTRY[base_backend(backend)].package
    except (KeyError, ValueError):
        return "unknown"
    try:
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{package} (version unknown)"


def golden_path(directory: str | Path, backend: str) -> Path:
    """The golden file of ``backend`` in ``directory``."""
    return Path(directory) / f"{backend}.npz"


def save_golden(directory: str | Path, backend: str, logits: np.ndarray, images: Any, goal_index: int | None = 1,
                decision: DecisionRule | None = None) -> Path:
    """Write ``backend``'s ``logits`` on ``images`` to its golden file (with the decision rule); return the path."""
    from pytest_drlreward.checks.finite import require_finite

    logits = require_finite(logits, f"backend {backend!r}", unit="logits")
    if decision is None:
        decision = DecisionRule.argmax(int(goal_index if goal_index is not None else 1), max(2, logits.shape[-1]))
    meta = {"backend": backend, "images_sha256": images_digest(images), "n_images": batch_len(images),
            "goal_index": decision.goal_index, "decision": {**decision.to_metadata(), "n_outputs": decision.n_outputs},
            "engine": engine_version(backend), "machine": f"{platform.machine()} {platform.system()}",
            "python": platform.python_version()}
    buffer = io.BytesIO()
    np.savez(buffer, logits=np.asarray(logits, dtype=np.float32), meta=np.array(json.dumps(meta)))
    path = golden_path(directory, backend)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


class GoldenLogits:
    """Saved logits that answer ``logits(images)`` for the images they were saved for."""

    def __init__(self, name: str, logits: np.ndarray, meta: dict[str, Any]) -> None:
        self.name = name
        self._logits = logits
        self.meta = meta
        saved = meta.get("decision")
        if isinstance(saved, dict):
            self.decision = DecisionRule.from_metadata(saved, int(saved.get("n_outputs", 1)))
        else:  # saved before decision rules: argmax over goal_index
            self.decision = DecisionRule.argmax(int(meta.get("goal_index", 1)), max(2, logits.shape[-1]))
        self.goal_index = self.decision.goal_index

    def logits(self, images: Any) -> np.ndarray:
        if batch_len(images) != len(self._logits):
            raise GoldenError(f"{self.name} holds logits for {len(self._logits)} images, asked for {batch_len(images)}")
        return self._logits

    def describe(self) -> str:
        return f"saved with {self.meta.get('engine', '?')} on {self.meta.get('machine', '?')}"


def load_golden(directory: str | Path, backend: str, images: np.ndarray) -> GoldenLogits:
    """``backend``'s golden logits for ``images``; GoldenError if missing or saved for other images."""
    path = golden_path(directory, backend)
    if not path.is_file():
        raise GoldenError(f"no golden outputs for {backend!r}: {path} does not exist (save them with --drl-golden-save)")
    with np.load(path, allow_pickle=False) as data:
        logits, meta = data["logits"], json.loads(str(data["meta"]))
    if meta.get("images_sha256") != images_digest(images):
        raise GoldenError(f"{path} was saved for other labelled images ({meta.get('n_images')} images, another "
                          f"sha256); save the golden outputs again")
    return GoldenLogits(f"golden {backend}", logits, meta)
