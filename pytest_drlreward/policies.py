"""Policies that drive rollouts: seeded random actions, a Python callable, or a saved SB3 agent.

A policy is a callable ``policy(obs) -> action``. :func:`load_policy` reads the text form used by
the ``drl_policy`` ini key: ``"package.module:function"`` (a callable taking the observation) or the
path of a stable-baselines3 ``.zip`` (loaded on the CPU, actions taken deterministically; needs
stable-baselines3). No pytest here; stable-baselines3 is imported only to load an agent.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

Policy = Callable[[Any], Any]


class PolicyError(ValueError):
    """A policy spec that names nothing loadable."""


def random_policy(action_space: Any, seed: int = 0) -> Policy:
    """Actions sampled from a copy of ``action_space`` seeded with ``seed`` (the env's own RNG is untouched)."""
    space = copy.deepcopy(action_space)
    space.seed(seed)

    def policy(obs: Any) -> Any:
        return space.sample()

    policy.description = f"random actions (seed {seed})"  # type: ignore[attr-defined]
    return policy


def _import_callable(spec: str) -> Policy:
    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise PolicyError(f"policy {spec!r}: cannot import it ({error})") from error
    if not callable(target):
        raise PolicyError(f"policy {spec!r} is not callable")
    return target


def _algorithms() -> list[Any]:
    """The algorithm classes of stable-baselines3 (and sb3-contrib, when installed)."""
    from stable_baselines3.common.base_class import BaseAlgorithm

    found = []
    for package_name in ("stable_baselines3", "sb3_contrib"):
        try:
            package = importlib.import_module(package_name)
        except ImportError:
            continue
        found += [value for value in vars(package).values()
                  if isinstance(value, type) and issubclass(value, BaseAlgorithm) and value is not BaseAlgorithm]
    return found


def sb3_algorithm(path: str | Path) -> Any:
    """The stable-baselines3 (or sb3-contrib) algorithm class that saved the agent at ``path``.

    Among the algorithms whose policy aliases include the saved policy class, the one whose constructor
    takes most of the saved hyperparameters and fewest others (PPO and A2C share their policy class).
    """
    import inspect

    from stable_baselines3.common.save_util import load_from_zip_file

    data, _, _ = load_from_zip_file(str(path), device="cpu", load_data=True)
    policy_class = (data or {}).get("policy_class")
    saved = {key for key in data or {} if not key.startswith("_")}

    def score(algorithm: Any) -> tuple[int, int]:
        taken = set(inspect.signature(algorithm.__init__).parameters) - {"self", "policy", "env"}
        return len(saved & taken), -len(taken - saved)

    candidates = [a for a in _algorithms() if policy_class in getattr(a, "policy_aliases", {}).values()]
    if not candidates:
        raise PolicyError(f"policy {str(path)!r}: no SB3 algorithm uses its policy class {policy_class!r}")
    return max(candidates, key=score)


def sb3_policy(path: str | Path, algorithm: Any = None) -> Policy:
    """The deterministic policy of a saved stable-baselines3 agent (``algorithm`` found from the file if None)."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"policy {str(path)!r}: no such file")
    try:
        algorithm = algorithm or sb3_algorithm(path)
    except ImportError as error:
        raise PolicyError(f"policy {str(path)!r} is an SB3 agent, which needs stable-baselines3: {error}") from error
    agent = algorithm.load(str(path), device="cpu")

    def policy(obs: Any) -> Any:
        action, _ = agent.predict(obs, deterministic=True)
        return action

    policy.description = f"{algorithm.__name__} agent {path.name}"  # type: ignore[attr-defined]
    return policy


def load_policy(spec: str, base: Path | None = None) -> Policy:
    """The policy named by ``spec``: an SB3 ``.zip`` path (relative to ``base``) or ``"module:function"``."""
    text = str(spec).strip()
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if text.endswith(".zip") or path.is_file():
        return sb3_policy(path)
    if ":" not in text:
        raise PolicyError(f"policy {text!r} is neither an SB3 agent file (.zip) nor 'module:function'")
    return _import_callable(text)


def describe(policy: Policy | None) -> str:
    """A short name for a policy, for reports."""
    if policy is None:
        return "random actions"
    return str(getattr(policy, "description", getattr(policy, "__qualname__", type(policy).__name__)))
