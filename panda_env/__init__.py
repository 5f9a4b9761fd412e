"""PandaHover: a Franka Panda learns to hover over an object, rewarded by a learned visual classifier.

Importing the package registers ``PandaHover-v0`` with Gymnasium.
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "PandaHover-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="panda_env.envs.hover:PandaHoverEnv", max_episode_steps=10)

__all__ = ["ENV_ID"]
