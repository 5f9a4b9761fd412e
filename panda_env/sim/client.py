"""One headless PyBullet connection whose calls all name its own client id.

Like ``pybullet_utils.bullet_client.BulletClient`` (each method is ``pybullet``'s, with
``physicsClientId`` bound), without its stray ``argv[0]=`` print on connect; bound methods are cached
on first use so the hot path pays no lookup.
"""

from __future__ import annotations

import functools
import inspect

import pybullet


class PyBulletClient:
    """A DIRECT (no GUI) PyBullet client; ``disconnect()`` frees it and may be called twice."""

    def __init__(self) -> None:
        self.client_id = pybullet.connect(pybullet.DIRECT)
        if self.client_id < 0:
            raise RuntimeError("PyBullet could not open a DIRECT connection")

    def __getattr__(self, name: str):
        attribute = getattr(pybullet, name)
        if inspect.isbuiltin(attribute):
            attribute = functools.partial(attribute, physicsClientId=self.client_id)
            setattr(self, name, attribute)  # cached: later lookups skip __getattr__
        return attribute

    def disconnect(self) -> None:
        if self.client_id >= 0:
            pybullet.disconnect(physicsClientId=self.client_id)
            self.client_id = -1
