"""``PandaHover-v0``: move the Panda's gripper over the object and hover there.

Observation: the end-effector x-y (float32, clipped to the workspace; the arm reaches a commanded
point within about 0.5 mm). Action: (dx, dy) in [-0.1, 0.1]^2 metres. A move that would leave the workspace
is refused (the arm stays) and costs -5; any other move costs -1; reaching the goal gives +100 and
ends the episode. Whether the goal is reached is decided by the reward backend: the simulator
(``"oracle"``) or an image classifier on the camera image (``"torch"``, ``"onnxruntime"``,
``"openvino"``).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from panda_env.envs import task
from panda_env.envs.goal import CallTimer, ClassifierJudge, GoalJudge, OracleJudge, load_reward_backend
from panda_env.envs.task import REWARD_BACKENDS  # noqa: F401  (re-exported)
from panda_env.sim import PandaScene, SceneConfig
from pytest_drlreward.util.validation import check_int

_ACTION_TOLERANCE = 1e-6  # float rounding at the bounds (e.g. SB3's action rescaling) is clipped


def make_judge(reward_backend: Any, model_dir=None, backend_options: dict | None = None) -> GoalJudge:
    """The goal judge for a reward backend (a name, or a backend object)."""
    backend = load_reward_backend(reward_backend, model_dir, backend_options)
    return OracleJudge() if backend is None else ClassifierJudge(backend)


class PendingStep(NamedTuple):
    """A step begun by ``begin_step``: the move is done, the reward's verdict is still to come."""

    true_goal: bool
    action_taken: bool


class PandaHoverEnv(gym.Env):
    """The Panda hover task with a pluggable reward (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        reward_backend: str = task.ORACLE,
        image_size: int = task.IMAGE_SIZE,
        max_episode_steps: int | None = None,
        render_quality: str = "fast",
        object_position: tuple[float, float, float] = task.OBJECT_POSITION,
        goal_radius: float = task.GOAL_RADIUS,
        model_dir: str | None = None,
        backend_options: dict | None = None,
        render_mode: str | None = None,
        scene_config: SceneConfig | None = None,
        judge: GoalJudge | None = None,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"unknown render_mode {render_mode!r}; allowed values: None, 'rgb_array'")
        check_int(max_episode_steps, "max_episode_steps", allow_none=True)
        check_int(image_size, "image_size", high=task.MAX_IMAGE_SIZE)
        if (isinstance(goal_radius, bool) or not isinstance(goal_radius, (int, float, np.integer, np.floating))
                or not 0 < goal_radius <= task.MAX_GOAL_RADIUS):
            raise ValueError(f"goal_radius must be a number in (0, {task.MAX_GOAL_RADIUS}] metres (episodes start "
                             f"{task.MIN_START_DISTANCE} m from the object, outside the goal), got {goal_radius!r}")
        object_position = tuple(object_position)
        if len(object_position) != 3 or not task.in_workspace(np.asarray(object_position[:2], dtype=np.float64)):
            raise ValueError(f"object_position must be (x, y, z) with x-y inside the workspace x in "
                             f"[{task.WORKSPACE_LOW[0]}, {task.WORKSPACE_HIGH[0]}], y in [{task.WORKSPACE_LOW[1]}, "
                             f"{task.WORKSPACE_HIGH[1]}], got {object_position!r}")
        self.render_mode = render_mode
        self.max_episode_steps = max_episode_steps
        self.goal_radius = float(goal_radius)
        self.scene_config = scene_config or SceneConfig(
            object_position=tuple(object_position), hover_height=task.HOVER_HEIGHT,
            image_size=image_size, render_quality=render_quality)
        self.object_xy = np.asarray(self.scene_config.object_position[:2], dtype=np.float64)
        if judge is None:  # a judge of its own: its one-time work now, not in the first step
            judge = make_judge(reward_backend, model_dir, backend_options)
            judge.warm_up(1)
        self.judge = judge
        self.reward_backend = self.judge.name
        self._check_image_fits_the_classifier()
        self.action_space = spaces.Box(-task.MAX_MOVE, task.MAX_MOVE, shape=(2,), dtype=np.float32)
        self.observation_space = spaces.Box(
            task.WORKSPACE_LOW.astype(np.float32), task.WORKSPACE_HIGH.astype(np.float32), dtype=np.float32)
        self.timers = {"physics": CallTimer(), "render": CallTimer()}
        self._scene = PandaScene(self.scene_config)
        self._xy = np.zeros(2)
        self._steps = 0
        self._needs_reset = True

    # -- public helpers ------------------------------------------------------------------------
    @property
    def reward_timer(self) -> CallTimer:
        """Time spent deciding the reward (zero for the oracle)."""
        return getattr(self.judge, "timer", CallTimer())

    def camera_image(self) -> np.ndarray:
        """The uint8 RGB (H, W, 3) image the classifier sees, rendered now."""
        start = time.perf_counter()
        image = self._scene.render()
        self.timers["render"].add(time.perf_counter() - start)
        return image

    def overview_camera(self, width: int = 320, height: int = 240):
        """A wider camera for people (the arm, the object and the workspace): ``.render()`` gives uint8 RGB
        (height, width, 3), ``.project(xyz)`` a world point's pixel. Not what the classifier sees (that is
        ``camera_image``); its renders are not counted in ``timers``."""
        return self._scene.view("overview", (width, height))

    def render(self) -> np.ndarray | None:
        return self.camera_image() if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        """Free the PyBullet client; calling it again does nothing."""
        self._scene.close()

    # -- Gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._scene.reset_arm()
        start = self._draw_start()
        self._move(start)
        self._steps = 0
        self._needs_reset = False
        return self._observation(), self._info(False, 0.0, True)

    def step(self, action):
        pending = self.begin_step(action)
        image = self.camera_image() if self.judge.needs_image else None
        is_goal, probability = self.judge.judge(image, pending.true_goal)
        return self.complete_step(pending, is_goal, probability)

    # -- the two halves of a step (a batched VecEnv judges many envs between them) -------------
    def begin_step(self, action) -> PendingStep:
        """First half of ``step``: check ``action`` and move the arm."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step(): the episode has no start yet")
        delta = self._check_action(action)
        self._steps += 1
        target = self._xy + delta
        action_taken = task.in_workspace(target)
        if action_taken:
            self._move(target)
        return PendingStep(task.is_goal(self._xy, self.object_xy, self.goal_radius), action_taken)

    def complete_step(self, pending: PendingStep, is_goal: bool, probability: float):
        """Second half of ``step``: reward, termination and info, given the reward's verdict on the new state."""
        action_taken, true_goal = pending.action_taken, pending.true_goal
        if is_goal:
            reward = task.REWARD_GOAL
        else:
            reward = task.REWARD_MOVE if action_taken else task.REWARD_REFUSED
        # As Gymnasium's TimeLimit (which gym.make adds): the step at the limit is truncated, goal or not.
        truncated = self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        info = self._info(is_goal, probability, action_taken, true_goal)
        return self._observation(), reward, is_goal, truncated, info

    # -- internals -----------------------------------------------------------------------------
    def _draw_start(self) -> np.ndarray:
        while True:
            xy = self.np_random.uniform(task.WORKSPACE_LOW, task.WORKSPACE_HIGH)
            if np.hypot(*(xy - self.object_xy)) >= task.MIN_START_DISTANCE:
                return xy

    def _move(self, xy: np.ndarray) -> None:
        start = time.perf_counter()
        self._xy = self._scene.move_to(xy[0], xy[1])[:2]
        self.timers["physics"].add(time.perf_counter() - start)

    def _observation(self) -> np.ndarray:
        return np.clip(self._xy, task.WORKSPACE_LOW, task.WORKSPACE_HIGH).astype(np.float32)

    def _info(self, is_goal: bool, probability: float, action_taken: bool, true_goal: bool | None = None) -> dict:
        if true_goal is None:
            true_goal = task.is_goal(self._xy, self.object_xy, self.goal_radius)
        return {"is_goal": bool(is_goal), "goal_probability": float(probability),
                "true_goal": bool(true_goal), "action_taken": bool(action_taken)}

    def _check_image_fits_the_classifier(self) -> None:
        """A classifier backend must take this env's camera images: fail now, not at the first step."""
        shape = getattr(getattr(self.judge, "backend", None), "image_shape", None)
        rendered = self.scene_config.image_shape
        if shape is not None and tuple(shape) != rendered:
            raise ValueError(f"the {self.reward_backend!r} classifier takes images of shape {tuple(shape)}, but this env "
                             f"renders {rendered}: pass image_size={shape[0]} or a classifier for "
                             f"{self.scene_config.image_size} px")

    def _check_action(self, action) -> np.ndarray:
        raw = np.asarray(action) if not isinstance(action, (str, bytes)) else None
        if raw is None or raw.dtype.kind not in "iuf":
            raise ValueError(f"action must be an array of 2 real numbers, got {action!r}")
        try:
            delta = raw.astype(np.float64)
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"action must be an array of 2 real numbers, got {action!r}") from error
        if delta.shape != (2,):
            raise ValueError(f"action must have shape (2,), got shape {delta.shape}: {action!r}")
        if not np.all(np.isfinite(delta)):
            raise ValueError(f"action must be finite, got {action!r}")
        if np.any(np.abs(delta) > task.MAX_MOVE + _ACTION_TOLERANCE):
            raise ValueError(f"action {action!r} is outside the action space [-{task.MAX_MOVE}, {task.MAX_MOVE}]^2")
        return np.clip(delta, -task.MAX_MOVE, task.MAX_MOVE)
