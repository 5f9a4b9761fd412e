"""Links out of a camera's view, left out of its render: the same picture, fewer triangles.

PyBullet's TinyRenderer transforms every triangle of every visual shape, in view or not; the Panda's
upper links cost most of the classifier camera's render although the overhead camera never sees them.
A link whose bounding box lies wholly outside the camera's view volume (all 8 corners beyond one of its
6 planes, a small margin added) cannot put a pixel in the image, so it is drawn transparent (TinyRenderer
skips a shape of alpha 0) for that render only and given its colour back after it.

The bounding box is PyBullet's ``getAABB``, which bounds the link's collision shape. The test is sound
only where that shape holds the link's visual mesh: the ``fast`` render quality, whose visuals *are* the
collision meshes (``assets.lowpoly_panda_urdf``).

Not bit for bit: TinyRenderer rounds the shading of an odd pixel at an edge one level differently depending
on which shapes it drew (hiding a link far out of view can do it). Measured on 7,000 renders of random
walks: one image differed, in one pixel by one level; the shipped classifier's decisions were all equal
(``tests/env/test_render_culling.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

# the 8 corners of a box as (min or max) choices per axis
_CORNERS = np.array([[(i >> axis) & 1 for axis in range(3)] for i in range(8)], dtype=bool)


def view_planes(clip_matrix: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """The 6 planes (6, 4) of the view volume (left, right, bottom, top, near, far) of a camera
    whose world -> clip matrix is ``clip_matrix``.

    A world point ``p`` is inside when ``planes @ [*p, 1] >= 0`` on every row (OpenGL's -w <= x, y, z <= w).
    ``margin`` widens the sides by that fraction of the image (pixels at the edge count as inside).
    """
    m = np.asarray(clip_matrix, dtype=np.float64)
    w = m[3] * (1.0 + margin)
    return np.stack([w - m[0], w + m[0], w - m[1], w + m[1], m[3] + m[2], m[3] - m[2]])


def boxes_outside(planes: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Bool (L,): whether each axis-aligned box (L, 2, 3) (min and max corner) lies wholly beside the view.

    Conservative: a box is outside only when all its corners are beyond one same side plane (left, right,
    top, bottom) *and* all lie beyond the near plane. TinyRenderer does not clip a triangle nearer than the
    near plane the way OpenGL does (one such link put a stray pixel in the image), so a box reaching that
    close is drawn; a box that straddles the view volume's corner may be called inside, never the reverse.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    corners = np.where(_CORNERS[None], boxes[:, 1:2, :], boxes[:, 0:1, :])  # (L, 8, 3)
    homogeneous = np.concatenate([corners, np.ones((*corners.shape[:2], 1))], axis=2)
    distances = homogeneous @ planes.T  # (L, 8, 6)
    beside = np.any(np.all(distances[:, :, :4] < 0, axis=1), axis=1)
    beyond_near = np.all(distances[:, :, 4] > 0, axis=1)
    return beside & beyond_near


class LinkCulling:
    """For one body seen by one camera: hide, for the length of a render, the links the camera cannot see."""

    # a pixel and a half at 48 px: a box grazing the image's edge still counts as seen
    MARGIN = 0.06

    def __init__(self, client, body: int, clip_matrix: np.ndarray) -> None:
        self._client, self._body = client, body
        self._planes = view_planes(clip_matrix, self.MARGIN)
        # (link, its colour) of each link with a visual shape (getVisualShapeData: [1] link, [7] rgba)
        shapes = client.getVisualShapeData(body)
        self._links = [int(shape[1]) for shape in shapes]
        self._colours = {int(shape[1]): tuple(shape[7]) for shape in shapes}

    def hidden(self) -> list[int]:
        """The links whose bounding box is wholly out of view now."""
        boxes = np.array([self._client.getAABB(self._body, link) for link in self._links])
        outside = boxes_outside(self._planes, boxes)
        return [link for link, out in zip(self._links, outside) if out]

    @contextlib.contextmanager
    def applied(self) -> Iterator[list[int]]:
        """Within the block, the out-of-view links are transparent; their colours come back after it."""
        hidden = self.hidden()
        client, body = self._client, self._body
        try:
            for link in hidden:
                client.changeVisualShape(body, link, rgbaColor=(*self._colours[link][:3], 0.0))
            yield hidden
        finally:
            for link in hidden:
                client.changeVisualShape(body, link, rgbaColor=self._colours[link])
