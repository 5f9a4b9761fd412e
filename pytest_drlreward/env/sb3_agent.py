"""Loading a stable-baselines3 agent ``.zip`` without unpickling what can be rebuilt.

An SB3 agent file is code as much as data: its ``data`` JSON holds cloudpickled objects (the policy
class, the spaces, schedules, buffers), and unpickling runs whatever the sender put there. SB3's
documented way around it is ``custom_objects`` (``Algorithm.load(path, custom_objects=...)``): a key
given there is taken from the dict and never deserialised. :func:`safe_custom_objects` gives one for
EVERY pickled key, rebuilt from the JSON's readable fields or the env's spaces: the policy class is
looked up by its module and name inside stable-baselines3 / sb3-contrib, Box and Discrete spaces are
rebuilt from their recorded bounds, and what prediction does not need (buffers, schedules, last
observations) is replaced by neutral values. The weights are ``.pth`` files SB3 reads with
``torch.load(weights_only=True)``. Policies of other packages are code: they load only with
``trust_code=True``. No pytest here; stable-baselines3 is imported only to load.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

SB3_PACKAGES = ("stable_baselines3", "sb3_contrib")
NEUTRAL = {"train_freq": (1, "step"), "clip_range": 0.2, "clip_range_vf": None, "lr_schedule": None,
           "exploration_schedule": None, "replay_buffer_class": None, "rollout_buffer_class": None}
_METHOD = re.compile(r"<function (\w+)\.\w+ at ")
_CLASS = re.compile(r"^<class '([\w.]+)\.(\w+)'>$")
REBUILT_CLASSES = {"torch.nn.modules.activation": "torch.nn", "torch.optim": "torch.optim"}  # module -> where looked up


class AgentFileError(ValueError):
    """An agent file that is not a readable SB3 agent, or needs unpickling to load."""


def read_agent_data(path: str | Path) -> dict[str, Any]:
    """The ``data`` JSON of an SB3 agent ``.zip`` as plain JSON (nothing unpickled); AgentFileError otherwise."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
            if "policy.pth" not in archive.namelist():
                raise AgentFileError(f"{path} holds no policy.pth: not an agent saved by stable-baselines3")
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AgentFileError(f"{path} is not a stable-baselines3 agent (a .zip with 'data' and 'policy.pth' "
                             f"saved by model.save): {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("policy_class"), dict):
        raise AgentFileError(f"{path}: its 'data' names no policy_class; not a stable-baselines3 agent")
    return data


def _pickled(item: Any) -> bool:
    return isinstance(item, dict) and ":serialized:" in item


def policy_class_of(data: dict[str, Any], path: Path, trust_code: bool = False) -> Any:
    """The policy class the agent was saved with, found by module and name (importing SB3, unpickling nothing)."""
    entry = data["policy_class"]
    module_name = str(entry.get("__module__", ""))
    names = {match for value in entry.values() if isinstance(value, str) for match in _METHOD.findall(value)}
    if module_name.split(".")[0] not in SB3_PACKAGES and not trust_code:
        raise AgentFileError(f"{path}: its policy class comes from {module_name!r}, not stable-baselines3: loading "
                             f"it would run that code; load it only if you trust it (trust_code=True, ini "
                             f"drl_trust_code = true)")
    if len(names) != 1:
        raise AgentFileError(f"{path}: cannot tell its policy class from the file (module {module_name!r})")
    from stable_baselines3.common.policies import BasePolicy

    policy = getattr(importlib.import_module(module_name), names.pop(), None)
    if not (inspect.isclass(policy) and issubclass(policy, BasePolicy)):
        raise AgentFileError(f"{path}: {module_name} has no policy class of that name")
    return policy


def policy_kwargs_from_json(item: Any, path: Path, build: bool = True) -> Any:
    """``policy_kwargs`` rebuilt from the readable fields SB3 writes beside the pickle: JSON values as they are, a
    class of ``torch.nn``'s activations or of ``torch.optim`` looked up by name (``build=False``: only checked,
    importing nothing). AgentFileError naming the key for anything only unpickling could rebuild."""
    if not _pickled(item):
        return item
    rebuilt = {}
    for key, value in item.items():
        if key.startswith(":"):
            continue
        match = _CLASS.match(value) if isinstance(value, str) else None
        where = next((REBUILT_CLASSES[m] for m in REBUILT_CLASSES if match and (match[1] == m or
                                                                              match[1].startswith(m + "."))), None)
        if match and where:
            if build:
                found = getattr(importlib.import_module(where), match[2], None)
                if not inspect.isclass(found):
                    raise AgentFileError(f"{path}: policy_kwargs[{key!r}] names {value}, which {where} does not have")
                rebuilt[key] = found
            continue
        if isinstance(value, str) and value.startswith("<"):
            raise AgentFileError(f"{path}: policy_kwargs[{key!r}] is {value}, which only unpickling (running the "
                                 f"file's code) could rebuild; this loader rebuilds JSON values, torch.nn activations "
                                 f"and torch.optim optimisers only")
        rebuilt[key] = value
    return rebuilt


def check_agent_data(data: dict[str, Any], path: Path) -> None:
    """What can be checked at start without importing: the policy kwargs can be rebuilt (AgentFileError if not)."""
    if "policy_kwargs" in data:
        policy_kwargs_from_json(data["policy_kwargs"], path, build=False)


def space_from_json(item: Any, key: str, path: Path) -> Any:
    """A Box or Discrete space rebuilt from the readable fields SB3 writes beside the pickle."""
    from gymnasium import spaces

    kind = str(item.get(":type:", "")) if isinstance(item, dict) else ""
    try:
        if kind.endswith("spaces.box.Box'>"):
            dtype = np.dtype(item["dtype"])
            shape = tuple(item["_shape"])
            low, high = (np.array(item[k].strip("[]").split(), dtype=dtype).reshape(shape) for k in ("low", "high"))
            return spaces.Box(low, high, shape=shape, dtype=dtype)
        if kind.endswith("spaces.discrete.Discrete'>"):
            return spaces.Discrete(int(item["n"]), start=int(item.get("start", 0)))
    except (KeyError, ValueError, TypeError, AttributeError):
        pass
    raise AgentFileError(f"{path}: cannot rebuild its {key} ({kind or 'unknown type'}) without unpickling; pass the "
                         f"env's spaces")


def safe_custom_objects(data: dict[str, Any], path: Path, observation_space: Any = None, action_space: Any = None,
                        trust_code: bool = False) -> dict[str, Any]:
    """``custom_objects`` for ``Algorithm.load`` replacing every cloudpickled entry of ``data``."""
    given = {"observation_space": observation_space, "action_space": action_space}
    objects: dict[str, Any] = {"policy_class": policy_class_of(data, path, trust_code)}
    for key, item in data.items():
        if key in objects or not _pickled(item):
            continue
        if key in given:
            objects[key] = given[key] if given[key] is not None else space_from_json(item, key, path)
        elif key == "policy_kwargs":
            objects[key] = policy_kwargs_from_json(item, path)
        else:
            objects[key] = NEUTRAL.get(key)
    return objects


def algorithm_for(policy_class: Any, data: dict[str, Any] | None = None) -> Any:
    """The SB3 (or sb3-contrib) algorithm whose policy aliases include ``policy_class``; among several (PPO and
    A2C share theirs), the one whose constructor takes most of the saved hyperparameters and fewest others."""
    from stable_baselines3.common.base_class import BaseAlgorithm

    found = []
    for package_name in SB3_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError:
            continue
        found += [value for value in vars(package).values()
                  if inspect.isclass(value) and issubclass(value, BaseAlgorithm)
                  and policy_class in getattr(value, "policy_aliases", {}).values()]
    if not found:
        raise AgentFileError(f"no stable-baselines3 algorithm uses the policy class {policy_class.__name__}")
    saved = {key for key in data or {} if not key.startswith("_")}

    def score(algorithm: Any) -> tuple[int, int]:
        taken = set(inspect.signature(algorithm.__init__).parameters) - {"self", "policy", "env"}
        return len(saved & taken), -len(taken - saved)

    return max(found, key=score)


def load_agent_safely(path: str | Path, algorithm: Any = None, observation_space: Any = None, action_space: Any = None,
                      trust_code: bool = False) -> Any:
    """Load an SB3 agent on the CPU with every pickled entry replaced (see the module docstring).

    ``algorithm``: the class (found from the policy class if None). With ``trust_code`` a policy class
    from outside SB3 may be imported. AgentFileError says what is wrong with the file.
    """
    path = Path(path)
    data = read_agent_data(path)
    objects = safe_custom_objects(data, path, observation_space, action_space, trust_code)
    if algorithm is None:
        algorithm = algorithm_for(objects["policy_class"], data)
    try:
        return algorithm.load(str(path), device="cpu", custom_objects=objects)
    except Exception as error:  # SB3 raises many types for a foreign or damaged archive
        raise AgentFileError(f"{path} is not a loadable {algorithm.__name__} agent: {type(error).__name__}: {error}") from error
