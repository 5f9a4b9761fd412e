"""One headless PyBullet connection whose calls all name its own client id.

Like ``pybullet_utils.bullet_client.BulletClient`` (each method is ``pybullet``'s, with
``physicsClientId`` bound), without its stray ``argv[0]=`` print on connect; bound methods are cached
on first use so the hot path pays no lookup. The connection is freed by ``disconnect()`` or, failing
that, when the client is garbage-collected (an env dropped without ``close()`` leaks nothing). After
``disconnect()`` every call raises: PyBullet reuses client ids, so a stale id would silently reach
another live client's scene.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from typing import Any

from panda_env.quiet import pybullet  # without its build-time banner on stderr


def _disconnect(client_id: int) -> None:
    pybullet.disconnect(physicsClientId=client_id)


class PyBulletClient:
    """A DIRECT (no GUI) PyBullet client; ``disconnect()`` frees it and may be called twice."""

    def __init__(self) -> None:
        self.client_id = pybullet.connect(pybullet.DIRECT)
        if self.client_id < 0:
            raise RuntimeError("PyBullet could not open a DIRECT connection")
        self._finalizer = weakref.finalize(self, _disconnect, self.client_id)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attribute = getattr(pybullet, name)
        if inspect.isbuiltin(attribute):
            if self.client_id < 0:
                raise RuntimeError(f"PyBullet client is disconnected: cannot call {name}; create a new env or scene")
            attribute = functools.partial(attribute, physicsClientId=self.client_id)
            setattr(self, name, attribute)  # cached: later lookups skip __getattr__
        return attribute

    def disconnect(self) -> None:
        """Free the connection and forget every method bound to its id."""
        if self.client_id >= 0:
            self._finalizer()
            self.client_id = -1
            for name in [k for k, v in vars(self).items() if isinstance(v, functools.partial)]:
                delattr(self, name)
