"""Simulation layer: the PyBullet scene, the Panda arm and the camera. Knows nothing of neural nets.

``PandaScene`` and ``SceneConfig`` are imported on first use (they load PyBullet); ``defaults`` is light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RENDER_QUALITIES", "PandaScene", "SceneConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from panda_env.sim import scene

        return getattr(scene, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
