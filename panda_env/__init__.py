"""PandaHover: a Franka Panda learns to hover over an object, rewarded by a learned visual classifier.

Importing the package registers ``PandaHover-v0`` with Gymnasium. It needs the ``panda`` extra
(PyBullet, stable-baselines3, torch, torchvision): ``pip install ".[panda]"`` in a clone.
"""

import importlib.util

from gymnasium.envs.registration import register, registry

_NEEDED = ("pybullet", "torch", "torchvision", "stable_baselines3")
_missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
if _missing:
    from pytest_drlreward.backends.registry import install_hint

    raise ImportError(f"panda_env needs {', '.join(_missing)}, which the base install of pytest-drlreward does "
                      f"not include: {install_hint('panda')}")

ENV_ID = "PandaHover-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="panda_env.envs.hover:PandaHoverEnv", max_episode_steps=10)

__all__ = ["ENV_ID"]
