"""Where an env supplies a classifier's inputs, and the check that it supplies what the model takes.

For a one-input model: ``env.unwrapped.camera_image()``, else the observation's key (a Dict
observation holding the input's ``env_key``), else ``env.render()`` with ``render_mode="rgb_array"``.
For several inputs: ``env.unwrapped.camera_images()`` (a dict), else the keys of a Dict observation.
``input_keys`` (the ``drl_input_keys`` ini key: input name -> env key) overrides each input's
``env_key``. A mismatch names the input, the shape and dtype expected and those given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class EnvInputError(AssertionError):
    """The env does not supply an input the classifier takes, or supplies it in another shape or dtype."""


def _key(spec: Any, input_keys: Mapping[str, str] | None) -> str:
    return (input_keys or {}).get(spec.name, spec.key)


def _checked(value: Any, spec: Any, source: str, env: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype != np.dtype(spec.dtype) or array.shape != spec.item_shape:
        raise EnvInputError(f"input {spec.name!r}: {type(env.unwrapped).__name__}.{source} gives {array.dtype} "
                            f"{array.shape}; the classifier takes {spec.dtype} {spec.item_shape}")
    return array


def has_input_source(env: Any, specs: Sequence[Any], obs: Any = None) -> bool:
    """Whether :func:`env_inputs` can find every input (without stepping)."""
    try:
        env_inputs(env, specs, obs=obs, check=False)
    except EnvInputError:
        return False
    return True


def env_inputs(env: Any, specs: Sequence[Any], *, obs: Any = None, input_keys: Mapping[str, str] | None = None,
               check: bool = True) -> Any:
    """The model's inputs for the env's current state: one array (one input) or a dict name -> array."""
    found, sources = locate_inputs(env, specs, obs=obs, input_keys=input_keys)
    if not check:
        return found
    specs = tuple(specs)
    arrays = {spec.name: _checked(found[spec.name], spec, sources[spec.name], env) for spec in specs}
    return arrays[specs[0].name] if len(specs) == 1 else arrays


def locate_inputs(env: Any, specs: Sequence[Any], *, obs: Any = None,
                  input_keys: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values, sources)``: each input's value as the env gives it (unchecked) and where it came from
    (``camera_image()``, ``camera_images()['front']``, ``observation['front']`` or ``render()``): the one
    lookup order of every consumer. :class:`EnvInputError` naming the input when the env supplies it nowhere."""
    unwrapped = env.unwrapped
    specs = tuple(specs)
    found: dict[str, Any] = {}
    sources: dict[str, str] = {}
    camera, cameras = getattr(unwrapped, "camera_image", None), getattr(unwrapped, "camera_images", None)
    if len(specs) == 1 and callable(camera) and not (input_keys and specs[0].name in input_keys):
        found[specs[0].name], sources[specs[0].name] = camera(), "camera_image()"
    else:
        views = cameras() if callable(cameras) else None
        for spec in specs:
            key = _key(spec, input_keys)
            if isinstance(views, Mapping) and key in views:
                found[spec.name], sources[spec.name] = views[key], f"camera_images()[{key!r}]"
            elif isinstance(obs, Mapping) and key in obs:
                found[spec.name], sources[spec.name] = obs[key], f"observation[{key!r}]"
            elif len(specs) == 1 and getattr(env, "render_mode", None) == "rgb_array":
                found[spec.name], sources[spec.name] = env.render(), "render()"
            else:
                offered = sorted(views) if isinstance(views, Mapping) else sorted(obs) if isinstance(obs, Mapping) else []
                raise EnvInputError(
                    f"input {spec.name!r}: {type(unwrapped).__name__} supplies no {key!r} (looked in camera_images(), "
                    f"a Dict observation{', camera_image() and render()' if len(specs) == 1 else ''}; it offers "
                    f"{offered or 'none'}); map it with drl_input_keys = {spec.name}=ENV_KEY")
    return found, sources


def stack_inputs(steps: list[Any]) -> Any:
    """Per-step inputs (arrays or dicts) stacked into one batch (an array or a dict of arrays)."""
    if steps and isinstance(steps[0], dict):
        return {name: np.stack([step[name] for step in steps]) for name in steps[0]}
    return np.stack(steps)
