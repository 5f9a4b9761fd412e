"""The labelled-images file (``.npz`` with ``images`` uint8 (N, H, W, 3) and ``labels`` bool or int (N,)):
its one set of rules, checked from the file's headers at start (nothing loaded) or on the arrays when read."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

KEYS = ("images", "labels")


def check_image_batch(what: str, shape: tuple[int, ...], dtype: Any, *, nonempty: bool = False) -> None:
    """The one rule for a batch of camera images: uint8 (N, H, W, 3), N >= 1 when ``nonempty``; ValueError
    naming ``what`` (a file, or a file and its member) and what it holds."""
    if np.dtype(dtype) != np.uint8 or len(shape) != 4 or shape[-1] != 3 or (nonempty and shape[0] == 0):
        raise ValueError(f"{what} must be uint8 (N, H, W, 3){' with N >= 1' if nonempty else ''}, got {dtype} "
                         f"{tuple(shape)}")


def check_labelled(path: Path, members: Any, images: tuple[tuple[int, ...], Any], labels: tuple[tuple[int, ...], Any],
                   image_shape: tuple[int, ...] | None = None) -> None:
    """The rules on the file's member names and the (shape, dtype) of its images and labels (each image
    ``image_shape``, the classifier's, when given); ValueError naming ``path`` and the value."""
    missing = set(KEYS) - set(members)
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}; it has {sorted(members)}")
    (images_shape, images_dtype), (labels_shape, labels_dtype) = images, labels
    check_image_batch(f"{path}: images", images_shape, images_dtype)
    if image_shape is not None and tuple(images_shape[1:]) != tuple(image_shape):
        raise ValueError(f"{path}: images are {tuple(images_shape[1:])} but the classifier takes {tuple(image_shape)}")
    if len(labels_shape) != 1 or labels_shape[0] != images_shape[0] or np.dtype(labels_dtype).kind not in "biu":
        raise ValueError(f"{path}: labels must be bool or integers of shape ({images_shape[0]},), got "
                         f"{labels_dtype} {labels_shape}")


def _npy_header(archive: zipfile.ZipFile, member: str) -> tuple[tuple[int, ...], Any]:
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(handle)  # the header only: no data is read
    return shape, dtype


def check_labelled_file(path: Path, image_shape: tuple[int, ...] | None = None) -> None:
    """Check an ``.npz`` of labelled images from its headers, without loading the arrays."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name[:-4]: name for name in archive.namelist() if name.endswith(".npy")}
            headers = [_npy_header(archive, members[key]) if key in members else ((), None) for key in KEYS]
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path} is not a readable .npz file: {error}") from None
    check_labelled(path, members, *headers, image_shape=image_shape)


def load_labelled_images(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` from an ``.npz`` file, read-only, checked as :func:`check_labelled_file` checks."""
    from pytest_drlreward.checks.accuracy import check_labels

    with np.load(path, allow_pickle=False) as data:
        members = list(data.files)
        images, labels = (data[key] if key in members else None for key in KEYS)
    check_labelled(path, members, *(((), None) if a is None else (a.shape, a.dtype) for a in (images, labels)))
    check_labels(labels, len(images))
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels
