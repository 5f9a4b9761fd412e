"""Rollouts: step an env with a policy and keep, for every step, the image the reward classifier
would see, the env's truth (an info key) and where the step happened (episode seed, step in episode).

One rollout serves every backend: the checks apply each backend to the same stored images, so
backends are compared on the states an agent really visits, and no env needs a backend argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError
from pytest_drlreward.env.policies import Policy, describe, random_policy
from pytest_drlreward.util.validation import check_int


class RolloutError(CheckError):
    """The env cannot give what a rollout needs (an image source, a consistent truth key)."""


class TruthValueError(RolloutError):
    """The env's truth (``info[truth_key]``) is not a bool or a 0/1 number."""


def truth_value(value: Any, key: str, where: str) -> bool:
    """``value`` of ``info[key]`` as a bool; :class:`TruthValueError` unless it is a bool or a number 0/1.

    ``bool("no")`` is True, so strings (and anything else) are refused rather than converted.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf" and value in (0, 1):
        return bool(value)
    raise TruthValueError(f"{where}: info[{key!r}] is {value!r} of type {type(value).__name__}; the truth must be a "
                          f"bool or a number 0/1 (drl_truth_key {key!r})")


def dense_truth_value(value: Any, key: str, where: str) -> float:
    """``value`` of ``info[key]`` as a float, for a dense learned reward (a ``score``) judged against a dense truth;
    :class:`TruthValueError` unless it is a real number (a bool counts as 0/1)."""
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)) or (
            isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf"):
        return float(value)
    raise TruthValueError(f"{where}: info[{key!r}] is {value!r} of type {type(value).__name__}; a dense truth must be "
                          f"a real number (drl_truth_key {key!r})")


class NoImageSourceError(RolloutError):
    """The env has neither ``unwrapped.camera_image()`` nor ``render()`` with ``render_mode="rgb_array"``."""


def has_image_source(env: Any) -> bool:
    """Whether :func:`env_image` can get an image from ``env``."""
    return callable(getattr(env.unwrapped, "camera_image", None)) or getattr(env, "render_mode", None) == "rgb_array"


def env_image(env: Any) -> np.ndarray:
    """The uint8 RGB (H, W, 3) image the reward classifier sees now.

    ``env.unwrapped.camera_image()`` if the env has it, else ``env.render()`` when its render mode is
    ``"rgb_array"``.
    """
    camera = getattr(env.unwrapped, "camera_image", None)
    if callable(camera):
        image, source = camera(), "camera_image()"
    elif getattr(env, "render_mode", None) == "rgb_array":
        image, source = env.render(), "render()"
    else:
        raise NoImageSourceError(f"{type(env.unwrapped).__name__} has no camera_image() method and its render_mode "
                                 f"is {getattr(env, 'render_mode', None)!r}, not 'rgb_array': no image to classify")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise RolloutError(f"{type(env.unwrapped).__name__}.{source} returned {image.dtype} {image.shape}; "
                           f"expected uint8 RGB (H, W, 3)")
    return image


def input_sources(env: Any, specs: Any = None, obs: Any = None, input_keys: dict[str, str] | None = None) -> dict[str, str]:
    """Where the env gives each classifier input (name -> ``camera_image()``, ``camera_images()['front']``,
    ``observation['front']`` or ``render()``), as :func:`~pytest_drlreward.env.inputs.locate_inputs` finds them;
    with no ``specs`` (no classifier), the one image :func:`env_image` takes."""
    if specs is None:
        return {"images": "camera_image()" if callable(getattr(env.unwrapped, "camera_image", None)) else "render()"}
    from pytest_drlreward.env.inputs import locate_inputs

    return locate_inputs(env, specs, obs=obs, input_keys=input_keys)[1]


@dataclass(frozen=True)
class Rollout:
    """What a rollout saw after each of its ``n`` steps (reset states are not included).

    ``images``: uint8 (n, H, W, 3) or None; ``truth``: bool (n,) from ``info[truth_key]``, None when the
    env does not report it; ``decisions``/``probabilities``: the env's own reward decision and goal
    probability when ``decision_key``/``probability_key`` were given and reported, else None;
    ``episode_seeds``/``episode_steps``: the reset seed of each step's episode and the step's index in it.
    """

    images: np.ndarray | None
    truth: np.ndarray | None
    decisions: np.ndarray | None
    probabilities: np.ndarray | None
    episode_seeds: np.ndarray
    episode_steps: np.ndarray
    truth_key: str | None
    seed: int
    policy: str
    truth_values: np.ndarray | None = None  # info[truth_key] as float64 (a dense true reward), None when not reported
    info_keys: tuple[str, ...] = ()  # the keys of the first step's info
    actions: tuple[Any, ...] = ()  # the action of each step, as the policy gave it
    sources: tuple[tuple[str, str], ...] = ()  # (input name, where the env gave it: camera_image(), render(), ...)

    def episode_actions(self, index: int) -> tuple[Any, ...]:
        """The actions from step ``index``'s reset up to and including it: with its episode's reset seed, a replay."""
        start = index - int(self.episode_steps[index])
        return self.actions[start:index + 1]

    def __len__(self) -> int:
        return len(self.episode_seeds)

    def where(self, index: int) -> str:
        """``step 12 (seed 3, step 2 of its episode)``: enough to replay the state."""
        return (f"step {index} (seed {int(self.episode_seeds[index])}, step {int(self.episode_steps[index]) + 1} "
                f"of its episode)")

    def describe(self) -> str:
        """``1500 steps, random actions (seed 0)``."""
        return f"{len(self)} steps, {self.policy}"


def _flag(info: dict, key: str | None, index: int, column: list, convert: Any = None) -> None:
    if key is None or column is None:
        return
    if key not in info:
        raise RolloutError(f"step {index}: info has no {key!r} although earlier steps had it; it has {sorted(map(str, info))}")
    column.append(convert(info[key], key, f"step {index}") if convert is not None else info[key])


def collect_rollout(
    env: Any,
    n_steps: int = 300,
    *,
    seed: int = 0,
    policy: Policy | None = None,
    truth_key: str | None = "true_goal",
    decision_key: str | None = None,
    probability_key: str | None = None,
    images: bool = True,
    inputs: Any = None,
    input_keys: dict[str, str] | None = None,
    dense_truth: bool = False,
) -> Rollout:
    """Reset ``env`` with ``seed`` and take ``n_steps`` steps, resetting with ``seed + episode`` after each end.

    ``policy(obs) -> action`` chooses the actions (default: random actions seeded with ``seed``). With
    ``images`` every step's image is kept (see :func:`env_image`). A key that is None or missing from
    the first step's info gives a None column; a key that disappears later raises :class:`RolloutError`.
    ``inputs`` (a classifier directory's ``inputs``): keep what the model takes instead, found by
    :func:`pytest_drlreward.env.inputs.env_inputs` (``input_keys`` maps input names to env keys); the
    rollout's ``images`` are then one array or, for several inputs, a dict name -> array.
    The truth must be a bool or 0/1 (:class:`TruthValueError` otherwise), or with ``dense_truth`` (a dense
    learned reward judged against a dense true reward) any real number: ``truth_values`` keeps it as floats,
    ``truth`` only when every value is 0 or 1.
    """
    if inputs is not None:
        from pytest_drlreward.env.inputs import env_inputs, stack_inputs

        def grab(obs: Any) -> Any:
            return env_inputs(env, inputs, obs=obs, input_keys=input_keys)
    else:
        stack_inputs = np.stack

        def grab(obs: Any) -> Any:
            return env_image(env)
    check_int(n_steps, "n_steps")
    policy = policy or random_policy(env.action_space, seed)
    if images and inputs is None and not has_image_source(env):
        env_image(env)  # raises NoImageSourceError with the explanation
    obs, _ = env.reset(seed=seed)
    episode, episode_step = 0, 0
    kept_images: list[Any] = []
    columns: dict[str, list | None] = {}
    seeds, steps = [], []
    info_keys: tuple[str, ...] = ()
    actions: list[Any] = []
    sources: dict[str, str] = {}
    for index in range(n_steps):
        action = policy(obs)
        actions.append(np.array(action) if isinstance(action, np.ndarray) else action)  # a copy: policies may reuse it
        obs, _, terminated, truncated, info = env.step(action)
        if index == 0:
            info_keys = tuple(sorted(map(str, info)))
            columns = {key: ([] if key is not None and key in info else None)
                       for key in (truth_key, decision_key, probability_key)}
        for key in (truth_key, decision_key, probability_key):
            convert = (dense_truth_value if dense_truth else truth_value) if key == truth_key else None
            _flag(info, key, index, columns.get(key), convert)
        if images:
            kept_images.append(grab(obs))
            if index == 0:
                sources = input_sources(env, inputs, obs, input_keys)
        seeds.append(seed + episode)
        steps.append(episode_step)
        episode_step += 1
        if terminated or truncated:
            episode += 1
            episode_step = 0
            obs, _ = env.reset(seed=seed + episode)

    def column(key: str | None, dtype: Any) -> np.ndarray | None:
        values = columns.get(key) if key is not None else None
        return None if values is None else np.asarray(values, dtype=dtype)

    truth_values = _floats(columns.get(truth_key) if truth_key is not None else None)
    binary = truth_values is not None and bool(np.isin(truth_values, (0.0, 1.0)).all())
    return Rollout(
        images=stack_inputs(kept_images) if images else None,
        truth=column(truth_key, bool) if not dense_truth or binary else None,
        decisions=column(decision_key, bool),
        probabilities=column(probability_key, np.float64),
        episode_seeds=np.asarray(seeds, dtype=np.int64),
        episode_steps=np.asarray(steps, dtype=np.int64),
        truth_key=truth_key,
        seed=int(seed),
        policy=describe(policy),
        truth_values=truth_values,
        info_keys=info_keys,
        actions=tuple(actions),
        sources=tuple(sources.items()),
    )


def _floats(values: list | None) -> np.ndarray | None:
    try:
        return None if values is None else np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
