"""The labelled-images file (``.npz`` with ``images`` uint8 (N, H, W, 3) and ``labels`` bool or int (N,)):
its one set of rules, checked from the file's headers at start (nothing loaded) or on the arrays when read."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

KEYS = ("images", "labels")
MAX_IMAGES = 1_000_000  # labelled images a file may hold
MAX_BYTES = 8 << 30  # and their bytes (8 GiB): a header claiming more is refused before anything is allocated


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
    size = int(np.prod(images_shape, dtype=np.float64)) * np.dtype(images_dtype).itemsize
    if images_shape[0] > MAX_IMAGES or size > MAX_BYTES:
        raise ValueError(f"{path}: images claims {images_shape[0]:,} images ({size / 2**30:.1f} GiB); at most "
                         f"{MAX_IMAGES:,} images and {MAX_BYTES >> 30} GiB are read: use a smaller labelled set")
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


def check_labelled_file(path: Path, image_shape: tuple[int, ...] | None = None) -> int:
    """Check an ``.npz`` of labelled images from its headers, without loading the arrays; the number of images."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name[:-4]: name for name in archive.namelist() if name.endswith(".npy")}
            headers = [_npy_header(archive, members[key]) if key in members else ((), None) for key in KEYS]
            sizes = {key: archive.getinfo(members[key]).file_size for key in KEYS if key in members}
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path} is not a readable .npz file: {error}") from None
    check_labelled(path, members, *headers, image_shape=image_shape)
    for key, (shape, dtype) in zip(KEYS, headers):
        claimed = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
        if claimed > sizes[key]:
            raise ValueError(f"{path}: {key} claims {tuple(shape)} ({claimed:,} bytes) but holds {sizes[key]:,} bytes; "
                             f"the file is truncated or forged: write it again")
    return int(headers[0][0][0])


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


def empty_labelled_gap(path: Path) -> Any:
    """The NOT VERIFIED (labelled) of a labelled-images file that holds 0 images."""
    from pytest_drlreward.errors import NotVerifiedError

    return NotVerifiedError("labelled", f"{path} holds 0 labelled images: parity and accuracy on it would pass on "
                            f"nothing", "write labelled images into it (uint8 (N, H, W, 3), N >= 1, with their labels) "
                            "or point drl_labelled_images at a file that has them")
