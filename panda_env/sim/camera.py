"""Camera definitions and rendering with PyBullet's headless TinyRenderer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from panda_env.quiet import pybullet  # without its build-time banner on stderr


@dataclass(frozen=True)
class CameraSpec:
    """Where the camera looks from and its lens."""

    target: tuple[float, float, float] | None  # None: the object the scene holds
    distance: float
    yaw: float
    pitch: float
    fov: float


CAMERAS = {
    # Ours (the default): straight down onto the object, 0.7 m above it, seeing about 16 cm around it:
    # the gripper's offset from the object maps linearly to pixels, so small images resolve it.
    "overhead": CameraSpec(target=None, distance=0.7, yaw=90.0, pitch=-89.0, fov=26.0),
    # From in front of the table, looking down at the whole workspace
    # (x in [0.40, 0.70], y in [-0.40, 0.40]) with the gripper and the object both in view.
    "front": CameraSpec(target=(0.55, 0.0, 0.0), distance=1.05, yaw=90.0, pitch=-62.0, fov=50.0),
    # For people watching an episode (the evaluation GIF): the arm from its side, the workspace below it.
    "overview": CameraSpec(target=(0.45, 0.0, 0.12), distance=1.0, yaw=60.0, pitch=-40.0, fov=55.0),
    # The seed demo's camera.
    "seed": CameraSpec(target=(0.55, 0.0, 0.05), distance=0.7, yaw=90.0, pitch=-70.0, fov=60.0),
}


class Camera:
    """Renders square RGB images of one PyBullet client (or a (width, height) resolution, as the seed did)."""

    def __init__(self, client, spec: CameraSpec, image_size: int,
                 resolution: tuple[int, int] | None = None,
                 object_position: tuple[float, float, float] | None = None) -> None:
        self._client = client
        self.width, self.height = resolution or (image_size, image_size)
        target = spec.target or object_position
        if target is None:
            raise ValueError("this camera looks at the object: pass object_position")
        self._view = client.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=target, distance=spec.distance, yaw=spec.yaw,
            pitch=spec.pitch, roll=0.0, upAxisIndex=2)
        self._projection = client.computeProjectionMatrixFOV(
            fov=spec.fov, aspect=self.width / self.height, nearVal=0.1, farVal=100.0)

    def render(self) -> np.ndarray:
        _, _, rgba, _, _ = self._client.getCameraImage(
            self.width, self.height, self._view, self._projection,
            renderer=pybullet.ER_TINY_RENDERER, flags=pybullet.ER_NO_SEGMENTATION_MASK)
        return np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)[:, :, :3].copy()

    @property
    def clip_matrix(self) -> np.ndarray:
        """The (4, 4) matrix taking a world point [x, y, z, 1] to OpenGL clip coordinates for this camera."""
        view = np.asarray(self._view).reshape(4, 4).T  # PyBullet's matrices are column-major
        proj = np.asarray(self._projection).reshape(4, 4).T
        return proj @ view

    def project(self, point: tuple[float, float, float]) -> tuple[float, float]:
        """Pixel (column, row) of a world point, for tests and visual checks."""
        clip = self.clip_matrix @ np.array([*point, 1.0])
        ndc = clip[:3] / clip[3]
        return (ndc[0] + 1) / 2 * self.width, (1 - ndc[1]) / 2 * self.height
