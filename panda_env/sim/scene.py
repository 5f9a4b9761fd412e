"""The PyBullet scene: one private client holding a table, the object and a Franka Panda.

Every PyBullet call goes through this scene's own client, so several scenes (and several envs) can
live in one process. The scene moves the gripper to an x-y point at hover height and renders the
camera image; it knows nothing of rewards or neural nets.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass

import numpy as np

from panda_env.quiet import pybullet  # without its build-time banner on stderr
from panda_env.sim import assets
from panda_env.sim.camera import CAMERAS, Camera
from panda_env.sim.client import PyBulletClient
from panda_env.sim.culling import LinkCulling
from panda_env.sim.defaults import DEFAULT_HOVER_HEIGHT, DEFAULT_IMAGE_SIZE, DEFAULT_OBJECT_POSITION

logger = logging.getLogger(__name__)

RENDER_QUALITIES = ("fast", "full")
MOVE_MODES = ("ik", "physics")
# "none": no table drawn (TinyRenderer's cost grows with the pixels each triangle covers, and a
# tabletop fills the frame); "box": a flat tabletop (12 triangles); "seed": the seed demo's textured
# plane and table URDF (the large plane costs most of its render).
TABLES = ("none", "box", "seed")
_TABLETOP_HALF_EXTENTS = (0.45, 0.7, 0.02)
_TABLETOP_RGBA = (0.78, 0.66, 0.50, 1.0)

EE_LINK = 11
_IK_ITERATIONS = 200  # solver iterations of an IK round
_FIRST_IK_ITERATIONS = 100  # ... and of the first, which is enough for most moves
ARM_JOINTS = tuple(range(7))
FINGER_JOINTS = (9, 10)
HOME_JOINTS = (0.0, -0.215, 0.0, -2.57, 0.0, 2.356, 2.356, 0.08, 0.08)
GRIPPER_EULER = (0.0, -math.pi, math.pi / 2)
TABLE_POSITION = (0.5, 0.0, -0.65)
PLANE_POSITION = (0.0, 0.0, -0.65)
# Colours given to the low-polygon arm so both qualities look alike (the visual meshes are mostly white).
_ARM_RGBA = (0.92, 0.92, 0.92, 1.0)
_HAND_RGBA = (0.25, 0.25, 0.25, 1.0)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed values: {', '.join(allowed)}")


@dataclass(frozen=True)
class SceneConfig:
    """Everything that fixes what the scene looks like and how the arm moves."""

    object_position: tuple[float, float, float] = DEFAULT_OBJECT_POSITION
    hover_height: float = DEFAULT_HOVER_HEIGHT
    image_size: int = DEFAULT_IMAGE_SIZE
    render_quality: str = "fast"
    camera: str = "overhead"
    table: str = "none"
    move_mode: str = "ik"
    physics_steps: int = 500
    ik_rounds: int = 12
    camera_resolution: tuple[int, int] | None = None  # (width, height); None means image_size square

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, 3) of the camera images the scene renders."""
        width, height = self.camera_resolution or (self.image_size, self.image_size)
        return height, width, 3

    def __post_init__(self) -> None:
        _check_choice("render_quality", self.render_quality, RENDER_QUALITIES)
        _check_choice("move_mode", self.move_mode, MOVE_MODES)
        _check_choice("camera", self.camera, tuple(CAMERAS))
        _check_choice("table", self.table, TABLES)
        if int(self.image_size) != self.image_size or self.image_size < 16:
            raise ValueError(f"image_size must be an integer >= 16, got {self.image_size!r}")
        if len(self.object_position) != 3 or not all(map(math.isfinite, self.object_position)):
            raise ValueError(f"object_position must be three finite numbers, got {self.object_position!r}")


class PandaScene:
    """A headless PyBullet world with the Panda, a table and one object."""

    def __init__(self, config: SceneConfig | None = None) -> None:
        self.config = config or SceneConfig()
        self._client: PyBulletClient | None = PyBulletClient()
        self._frame: np.ndarray | None = None  # the camera image of the arm where it is now, once rendered
        p = self._client
        p.setGravity(0, 0, -9.81)
        self._load_table()
        self.object_id = p.loadURDF(str(assets.OBJECT_URDF), self.config.object_position, useFixedBase=True)
        fast = self.config.render_quality == "fast"
        urdf = assets.lowpoly_panda_urdf() if fast else assets.PANDA_URDF
        self.robot_id = p.loadURDF(str(urdf), (0, 0, 0), useFixedBase=True)
        if fast:
            for link in range(-1, p.getNumJoints(self.robot_id)):
                rgba = _HAND_RGBA if link >= 8 else _ARM_RGBA
                p.changeVisualShape(self.robot_id, link, rgbaColor=rgba)
        self._orientation = p.getQuaternionFromEuler(GRIPPER_EULER)
        self.camera = Camera(p, CAMERAS[self.config.camera], self.config.image_size,
                             self.config.camera_resolution, self.config.object_position)
        # the fast quality's visuals are its collision meshes, so their bounding boxes may cull them
        self._culling = LinkCulling(p, self.robot_id, self.camera.clip_matrix) if fast else None
        self.reset_arm()

    def _load_table(self) -> None:
        p = self.client
        if self.config.table == "none":
            return
        if self.config.table == "seed":
            p.loadURDF(str(assets.PLANE_URDF), PLANE_POSITION)
            p.loadURDF(str(assets.TABLE_URDF), TABLE_POSITION)
            return
        half = _TABLETOP_HALF_EXTENTS
        visual = p.createVisualShape(pybullet.GEOM_BOX, halfExtents=half, rgbaColor=_TABLETOP_RGBA)
        collision = p.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half)
        p.createMultiBody(0, collision, visual, basePosition=(0.5, 0.0, -half[2]))

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def client(self) -> PyBulletClient:
        if self._client is None:
            raise RuntimeError("this PandaScene is closed; create a new one")
        return self._client

    def close(self) -> None:
        """Disconnect the PyBullet client; calling it again does nothing."""
        if self._client is not None:
            self._client.disconnect()
            self._client = None

    @property
    def closed(self) -> bool:
        return self._client is None

    # -- arm ---------------------------------------------------------------------------------
    def reset_arm(self) -> None:
        """Put the arm back in its home pose."""
        self._frame = None
        p = self.client
        for joint, angle in zip(ARM_JOINTS + FINGER_JOINTS, HOME_JOINTS):
            p.resetJointState(self.robot_id, joint, angle)

    def ee_position(self) -> np.ndarray:
        """World position (x, y, z) of the end-effector link."""
        state = self.client.getLinkState(self.robot_id, EE_LINK, computeForwardKinematics=True)
        return np.asarray(state[4], dtype=np.float64)

    def _ik(self, target: tuple[float, float, float], iterations: int = _IK_ITERATIONS) -> list[float]:
        return self.client.calculateInverseKinematics(
            self.robot_id, EE_LINK, target, self._orientation,
            maxNumIterations=iterations, residualThreshold=1e-6,
        )

    def move_to(self, x: float, y: float) -> np.ndarray:
        """Move the gripper to (x, y) at hover height; return where the end-effector ended up."""
        self._frame = None
        target = (float(x), float(y), self.config.hover_height)
        p = self.client
        if self.config.move_mode == "ik":
            # Kinematic move: IK, set the joints, refine from the new pose. A few rounds reach < 1 mm.
            # The first round stops at 100 solver iterations, which most moves need (cheaper than 200
            # every round, with the same worst error; `python -m panda_env bench` times a move).
            for round_ in range(self.config.ik_rounds):
                joints = self._ik(target, _FIRST_IK_ITERATIONS if round_ == 0 else _IK_ITERATIONS)
                for joint, angle in zip(ARM_JOINTS, joints[:7]):
                    p.resetJointState(self.robot_id, joint, angle)
                if np.linalg.norm(self.ee_position() - target) < 5e-4:
                    break
        else:
            # The seed demo's move, as it ran: every one of its iterations solves IK (PyBullet's default
            # solver settings), sets position control of the arm and both fingers, and steps physics once.
            for _ in range(self.config.physics_steps):
                joints = p.calculateInverseKinematics(self.robot_id, EE_LINK, target, self._orientation)
                p.setJointMotorControlArray(self.robot_id, list(ARM_JOINTS), pybullet.POSITION_CONTROL,
                                            targetPositions=list(joints[:7]))
                p.setJointMotorControlArray(self.robot_id, list(FINGER_JOINTS), pybullet.POSITION_CONTROL,
                                            targetPositions=[HOME_JOINTS[7], HOME_JOINTS[8]])
                p.stepSimulation()
        return self.ee_position()

    # -- camera ------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """The camera image: uint8 RGB, shape (image_size, image_size, 3) (or the camera's own size). Rendered once
        per pose of the arm: until it moves, another call (e.g. a reward audit keeping a false goal's frame) gets a
        copy, not a second render (325 ms for the seed's 960x720 camera). In the fast quality the arm's links out
        of the camera's view are left out of the render (``culling``: the same picture in about a third less time)."""
        if self._frame is None:
            with self._culling.applied() if self._culling is not None else contextlib.nullcontext():
                self._frame = self.camera.render()
            return self._frame
        return self._frame.copy()

    def view(self, camera: str = "front", resolution: tuple[int, int] = (320, 240)) -> Camera:
        """Another camera of ``CAMERAS`` on this scene (e.g. for people watching an episode), made once."""
        _check_choice("camera", camera, tuple(CAMERAS))
        key = (camera, tuple(resolution))
        views = self.__dict__.setdefault("_views", {})
        if key not in views:
            views[key] = Camera(self.client, CAMERAS[camera], resolution[0], tuple(resolution),
                                self.config.object_position)
        return views[key]
