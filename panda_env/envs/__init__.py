"""Environment layer: the Gymnasium env composing the scene and a goal judge."""

from panda_env.envs.task import REWARD_BACKENDS

__all__ = ["REWARD_BACKENDS", "PandaHoverEnv"]


def __getattr__(name: str):
    # Imported on first use: the env pulls in PyBullet, which the CLI's argument parsing does not need.
    if name == "PandaHoverEnv":
        from panda_env.envs.hover import PandaHoverEnv

        return PandaHoverEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
