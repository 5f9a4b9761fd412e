"""The hover task's fixed numbers: workspace, action bounds, rewards and the goal radius."""

from __future__ import annotations

import numpy as np

WORKSPACE_LOW = np.array([0.40, -0.40])
WORKSPACE_HIGH = np.array([0.70, 0.40])
MAX_MOVE = 0.1  # each action component is in [-MAX_MOVE, MAX_MOVE] metres
OBJECT_POSITION = (0.65, -0.30, 0.05)
HOVER_HEIGHT = 0.10
# The gripper hovers over the object when its horizontal distance to the object is below this.
GOAL_RADIUS = 0.05
MIN_START_DISTANCE = 0.10
REWARD_GOAL = 100.0
REWARD_MOVE = -1.0
REWARD_REFUSED = -5.0
REWARDS = (REWARD_GOAL, REWARD_MOVE, REWARD_REFUSED)
# What decides the goal: the simulator ("oracle") or the classifier on one of three backends.
REWARD_BACKENDS = ("oracle", "torch", "onnxruntime", "openvino")


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
# Default camera image size: the smallest measured at which the classifier reaches 99% on held-out
# images (overhead camera: 48 px gave 99.17% on a fresh capture; the older front camera needed 96 px).
IMAGE_SIZE = 48
