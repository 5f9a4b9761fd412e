"""Simulation layer: the PyBullet scene, the Panda arm and the camera. Knows nothing of neural nets."""

from panda_env.sim.scene import RENDER_QUALITIES, PandaScene, SceneConfig

__all__ = ["RENDER_QUALITIES", "PandaScene", "SceneConfig"]
