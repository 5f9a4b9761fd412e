"""The false goals an audit keeps (every named input of the state, the observation, step and seed), bounded in
memory, and how they are saved: ``false_goals.npz`` (one stacked array per input) beside ``audit.json`` (the
counts, the windows, the onset and one row per kept false goal), written atomically as one directory.

What the reward classifier saw is taken from the env itself at the false-goal step, before any reset:
``camera_images()`` (a dict of named inputs), else ``camera_image()`` (one image, saved as ``image``),
else ``render()`` with ``render_mode="rgb_array"``; a Dict observation's entries are kept as they are.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.util.atomic import atomic_directory

FRAMES_FILE = "false_goals.npz"
AUDIT_FILE = "audit.json"
DEFAULT_KEEP = 32
IMAGE = "image"
OBSERVATION = "observation"
VIEWS_KEY = "reward_audit_views"  # RewardAudit(share_views=True) puts a false goal's views in its info under this key


@dataclass(frozen=True)
class KeptFalseGoal:
    """One false goal seen in training: ``inputs`` (name -> array: what the classifier saw, and the
    observation), the training ``step``, the env ``slot``, the episode's reset ``seed`` (None when the
    trainer reset without one) with the ``episode`` count since it and the ``episode_step``, and the
    learned reward's goal ``probability`` (None when the env reports none)."""

    step: int
    slot: int
    seed: int | None
    episode: int
    episode_step: int
    probability: float | None
    inputs: dict[str, np.ndarray]

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "env": self.slot, "seed": self.seed, "episodes_since_seed": self.episode,
                "episode_step": self.episode_step, "goal_probability": self.probability, "truth": False,
                "inputs": sorted(self.inputs)}


def env_views(env: Any, obs: Any = None) -> dict[str, np.ndarray]:
    """What a reward classifier could have seen in ``env``'s current state, by name (see the module docstring)."""
    unwrapped = getattr(env, "unwrapped", env)
    views: dict[str, np.ndarray] = {}
    cameras, camera = getattr(unwrapped, "camera_images", None), getattr(unwrapped, "camera_image", None)
    if callable(cameras):
        views.update({str(name): np.array(value) for name, value in cameras().items()})
    elif callable(camera):
        views[IMAGE] = np.array(camera())
    elif getattr(env, "render_mode", None) == "rgb_array":
        views[IMAGE] = np.array(env.render())
    if isinstance(obs, Mapping):
        views.update({f"{OBSERVATION}.{name}": np.array(value) for name, value in obs.items()})
    elif obs is not None:
        views[OBSERVATION] = np.array(obs)
    return views


class FalseGoalKeeper:
    """Keeps at most ``keep`` false goals: the first ``keep // 2`` (the onset's) and the latest others."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(f"keep must be a whole number >= 0, got {keep!r}")
        self.keep = keep
        self.first: list[KeptFalseGoal] = []
        self.latest: deque[KeptFalseGoal] = deque(maxlen=keep - keep // 2)
        self.seen = 0

    def add(self, case: KeptFalseGoal) -> None:
        self.seen += 1
        if len(self.first) < self.keep // 2:
            self.first.append(case)
        elif self.latest.maxlen:
            self.latest.append(case)

    @property
    def cases(self) -> list[KeptFalseGoal]:
        """The kept false goals in training order."""
        return [*self.first, *self.latest]


def _stack(cases: list[KeptFalseGoal]) -> dict[str, np.ndarray]:
    """One array per input name over the cases holding it (shapes must agree, else one array per case)."""
    arrays: dict[str, np.ndarray] = {}
    for name in sorted({name for case in cases for name in case.inputs}):
        values = [case.inputs[name] for case in cases if name in case.inputs]
        if len(values) == len(cases) and len({(v.shape, v.dtype.str) for v in values}) == 1:
            arrays[name] = np.stack(values)
        else:
            arrays.update({f"{name}.{k}": value for k, value in enumerate(values)})
    return arrays


def save_audit(summary: dict[str, Any], cases: list[KeptFalseGoal], directory: str | Path) -> Path:
    """Write ``summary`` (JSON-ready) with one row per case to ``directory/audit.json`` and the cases' inputs to
    ``directory/false_goals.npz`` (arrays ``<input>`` of shape (cases, ...), plus ``step``, ``seed`` (-1: none)
    and ``goal_probability`` (NaN: none)); the directory is replaced as a whole."""
    with atomic_directory(directory, overwrite=True) as tmp:
        if cases:
            np.savez_compressed(tmp / FRAMES_FILE, **_stack(cases),
                                step=np.array([c.step for c in cases], dtype=np.int64),
                                seed=np.array([-1 if c.seed is None else c.seed for c in cases], dtype=np.int64),
                                goal_probability=np.array([np.nan if c.probability is None else c.probability
                                                           for c in cases], dtype=np.float64))
        document = {**summary, "frames": FRAMES_FILE if cases else None, "false_goals_kept": [c.as_dict() for c in cases]}
        (tmp / AUDIT_FILE).write_text(json.dumps(document, indent=2) + "\n")
    return Path(directory)


def load_false_goals(directory: str | Path) -> dict[str, np.ndarray]:
    """The arrays a saved audit kept (:func:`save_audit`); empty when it kept none."""
    path = Path(directory) / FRAMES_FILE
    if not path.is_file():
        return {}
    with np.load(path) as data:
        return {name: data[name] for name in data.files}
