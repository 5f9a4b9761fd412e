"""The hover task's fixed numbers: workspace, action bounds, rewards and the goal radius."""

from __future__ import annotations

import numpy as np

from panda_env.sim.defaults import DEFAULT_HOVER_HEIGHT, DEFAULT_IMAGE_SIZE, DEFAULT_OBJECT_POSITION
from pytest_drlreward.backends import BACKEND_NAMES

WORKSPACE_LOW = np.array([0.40, -0.40])
WORKSPACE_HIGH = np.array([0.70, 0.40])
MAX_MOVE = 0.1  # each action component is in [-MAX_MOVE, MAX_MOVE] metres
OBJECT_POSITION = DEFAULT_OBJECT_POSITION
HOVER_HEIGHT = DEFAULT_HOVER_HEIGHT
IMAGE_SIZE = DEFAULT_IMAGE_SIZE
# The gripper hovers over the object when its horizontal distance to the object is below this.
GOAL_RADIUS = 0.05
MIN_START_DISTANCE = 0.10
MAX_GOAL_RADIUS = MIN_START_DISTANCE  # episodes start outside the goal
MAX_IMAGE_SIZE = 1024  # camera images larger than this are a mistake, not a setting
REWARD_GOAL = 100.0
REWARD_MOVE = -1.0
REWARD_REFUSED = -5.0
REWARDS = (REWARD_GOAL, REWARD_MOVE, REWARD_REFUSED)
# What decides the goal: the simulator ("oracle") or the classifier on one of three backends.
ORACLE = "oracle"
REWARD_BACKENDS = (ORACLE, *BACKEND_NAMES)


INT8_BACKEND = "openvino-int8"  # the plugin registry's name: OpenVINO on the classifier's shipped INT8 model
RUN_BACKENDS = (*REWARD_BACKENDS, INT8_BACKEND)  # what a training run or benchmark may name


def split_run_backend(name: str, int8: bool = False) -> tuple[str, bool]:
    """A run's backend name as (reward backend, INT8 model): ``openvino-int8`` is ``openvino`` with ``int8``."""
    if name == INT8_BACKEND:
        return "openvino", True
    if name not in REWARD_BACKENDS:
        raise ValueError(f"unknown backend {name!r}; allowed values: {', '.join(RUN_BACKENDS)}")
    return name, int8


def run_backend_name(backend: str, int8: bool) -> str:
    """The name :func:`split_run_backend` splits: ``openvino-int8`` for an INT8 OpenVINO run, else ``backend``."""
    return INT8_BACKEND if int8 and backend == "openvino" else backend


def check_reward_backend(name: str) -> str:
    """Return ``name`` if it is a reward backend, else raise ValueError naming the allowed values."""
    if name not in REWARD_BACKENDS:
        raise ValueError(f"unknown reward_backend {name!r}; allowed values: {', '.join(REWARD_BACKENDS)}")
    return name


def in_workspace(xy: np.ndarray) -> bool:
    """Whether an x-y point lies inside the workspace (bounds included)."""
    return bool(np.all(xy >= WORKSPACE_LOW) and np.all(xy <= WORKSPACE_HIGH))


def is_goal(xy: np.ndarray, object_xy: np.ndarray, radius: float = GOAL_RADIUS) -> bool:
    """Simulator ground truth: the gripper is horizontally within ``radius`` of the object."""
    return bool(np.hypot(*(np.asarray(xy) - np.asarray(object_xy))) < radius)
