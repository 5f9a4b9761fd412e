"""Environment layer: the Gymnasium env composing the scene and a goal judge."""

from panda_env.envs.hover import REWARD_BACKENDS, PandaHoverEnv

__all__ = ["REWARD_BACKENDS", "PandaHoverEnv"]
