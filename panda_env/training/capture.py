"""Capture labelled camera images for the reward classifier.

On-disk layout of a capture directory:

- ``images.npy``: uint8 (N, H, W, 3) RGB camera images.
- ``labels.csv``: one row per image: ``index,label,x,y,distance`` (label 1 = goal, 0 = not goal;
  x, y the measured gripper position; distance its horizontal distance to the object).
- ``manifest.json``: counts per class, seed, image size, render quality, goal radius, object position
  and the sampling scheme.

Sampling: half the images are goals (gripper at a distance from the object drawn uniformly in
[0, r), direction uniform); a quarter are hard negatives at a distance uniform in [r, 2r); a quarter
are negatives anywhere else in the workspace (uniform, outside the goal disk).
Each image is taken after a move from a random point, so the arm's joint configuration varies as it
does in episodes.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from panda_env.envs import task
from panda_env.sim import PandaScene, SceneConfig
from pytest_drlreward.checks.labelled import check_image_batch
from pytest_drlreward.util.atomic import atomic_directory

logger = logging.getLogger(__name__)
LABEL_COLUMNS = ("index", "label", "x", "y", "distance")
MANIFEST_KEYS = ("n", "seed", "image_size", "render_quality", "goal_radius", "object_position", "sampling")
SAMPLING = "1/2 distance uniform in [0, r), 1/4 distance uniform in [r, 2r), 1/4 uniform over the rest of the workspace"


@dataclass
class CaptureSet:
    """Images and labels held in memory."""

    images: np.ndarray
    labels: np.ndarray
    positions: np.ndarray
    manifest: dict

    @property
    def distances(self) -> np.ndarray:
        return np.hypot(*(self.positions - np.asarray(self.manifest["object_position"][:2])).T)


def _draw_point(rng: np.random.Generator, kind: int, object_xy: np.ndarray, radius: float) -> np.ndarray:
    while True:
        if kind in (0, 1):  # goal disk or hard ring, distance uniform
            rho = rng.uniform(kind * radius, (kind + 1) * radius)
            angle = rng.uniform(0.0, 2 * np.pi)
            xy = object_xy + rho * np.array([np.cos(angle), np.sin(angle)])
        else:
            xy = rng.uniform(task.WORKSPACE_LOW, task.WORKSPACE_HIGH)
            if np.hypot(*(xy - object_xy)) < radius:
                continue
        if task.in_workspace(xy):
            return xy


def capture(n: int, seed: int, image_size: int = task.IMAGE_SIZE, render_quality: str = "fast",
            goal_radius: float = task.GOAL_RADIUS, object_position=task.OBJECT_POSITION,
            progress: Callable[[int], None] | None = None) -> CaptureSet:
    """Render ``n`` labelled images (see the module docstring for the sampling scheme)."""
    if n < 2:
        raise ValueError(f"n must be at least 2 (one image per class), got {n}")
    rng = np.random.default_rng(seed)
    config = SceneConfig(object_position=tuple(object_position), hover_height=task.HOVER_HEIGHT,
                         image_size=image_size, render_quality=render_quality)
    object_xy = np.asarray(object_position[:2], dtype=np.float64)
    kinds = np.array([0] * (n // 2) + [1] * (n // 4) + [2] * (n - n // 2 - n // 4))
    rng.shuffle(kinds)
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    positions = np.empty((n, 2))
    scene = PandaScene(config)
    try:
        for i, kind in enumerate(kinds):
            scene.reset_arm()
            scene.move_to(*rng.uniform(task.WORKSPACE_LOW, task.WORKSPACE_HIGH))
            positions[i] = scene.move_to(*_draw_point(rng, kind, object_xy, goal_radius))[:2]
            images[i] = scene.render()
            if progress is not None:
                progress(1)
    finally:
        scene.close()
    labels = (np.hypot(*(positions - object_xy).T) < goal_radius).astype(np.int64)
    manifest = {
        "n": n, "counts": {"goal": int(labels.sum()), "not_goal": int(n - labels.sum())},
        "seed": seed, "image_size": image_size, "render_quality": render_quality,
        "goal_radius": goal_radius, "object_position": list(object_position), "sampling": SAMPLING,
        "files": {"images": "images.npy", "labels": "labels.csv"},
    }
    return CaptureSet(images, labels, positions, manifest)


def save_capture(data: CaptureSet, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write a capture directory atomically."""
    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        np.save(tmp / "images.npy", data.images)
        with open(tmp / "labels.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(LABEL_COLUMNS)
            for i, (label, (x, y), d) in enumerate(zip(data.labels, data.positions, data.distances)):
                writer.writerow([i, int(label), f"{x:.6f}", f"{y:.6f}", f"{d:.6f}"])
        (tmp / "manifest.json").write_text(json.dumps(data.manifest, indent=2) + "\n")
    return Path(out_dir)


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    missing = [key for key in MANIFEST_KEYS if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise ValueError(f"{path} lacks {missing}: it was not written by `python -m panda_env capture`")
    return manifest


def _read_images(path: Path) -> np.ndarray:
    try:
        images = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path} cannot be read as a .npy array (truncated or not written by numpy): {error}") from error
    check_image_batch(f"{path} (the images)", images.shape, images.dtype, nonempty=True)
    return images


def _read_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(LABEL_COLUMNS) <= set(reader.fieldnames):
            raise ValueError(f"{path} must start with the header {','.join(LABEL_COLUMNS)}, got {reader.fieldnames}")
        rows = list(reader)
    try:
        labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
        positions = np.array([[float(r["x"]), float(r["y"])] for r in rows]).reshape(-1, 2)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: a label or position is not a number: {error}") from error
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        raise ValueError(f"{path}: labels must be 0 (not goal) or 1 (goal); row {int(bad[0])} has {labels[bad[0]]}")
    return labels, positions


def load_capture(directory: str | Path) -> CaptureSet:
    """Read a capture directory written by :func:`save_capture`; ValueError naming the file that is wrong."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} is a file, not a capture directory (write one with "
                                 f"`python -m panda_env capture --out DIR`)")
    for name in ("images.npy", "labels.csv", "manifest.json"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} is missing: {directory} is not a capture directory "
                                    f"(write one with `python -m panda_env capture --out {directory}`)")
    manifest = _read_manifest(directory / "manifest.json")
    images = _read_images(directory / "images.npy")
    labels, positions = _read_labels(directory / "labels.csv")
    if len(labels) != len(images):
        raise ValueError(f"{directory}: images.npy holds {len(images)} images but labels.csv {len(labels)} labels")
    return CaptureSet(images, labels, positions, manifest)
