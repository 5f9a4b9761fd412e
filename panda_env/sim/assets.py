"""Paths to the URDF assets, and the low-polygon Panda used by the ``fast`` render quality."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import pybullet_data

DATA_PATH = Path(pybullet_data.getDataPath())
PANDA_URDF = DATA_PATH / "franka_panda" / "panda.urdf"
TABLE_URDF = DATA_PATH / "table" / "table.urdf"
PLANE_URDF = DATA_PATH / "plane.urdf"
OBJECT_URDF = DATA_PATH / "random_urdfs" / "000" / "000.urdf"


def _lowpoly_urdf_text() -> str:
    """The Panda URDF with every visual mesh replaced by its collision mesh (same geometry, ~3.5k triangles)."""
    meshes = (PANDA_URDF.parent / "meshes").as_posix()
    text = PANDA_URDF.read_text()
    text = text.replace("package://meshes/visual/", f"{meshes}/collision/")
    return text.replace("package://meshes/collision/", f"{meshes}/collision/")


@functools.lru_cache(maxsize=1)
def lowpoly_panda_urdf() -> Path:
    """Write the low-polygon URDF once per process to a private temporary file and return its path.

    Each process (and each pytest-xdist worker) gets its own file, written under a temporary name
    and renamed, so no two processes ever write the same path.
    """
    directory = Path(tempfile.mkdtemp(prefix="panda_env_urdf_"))
    target = directory / "panda_lowpoly.urdf"
    partial = directory / f".panda_lowpoly.{os.getpid()}.tmp"
    partial.write_text(_lowpoly_urdf_text())
    partial.replace(target)
    return target
