"""Import PyBullet without its C-level "pybullet build time" line reaching the user's stderr.

The simulation modules take ``pybullet`` from here (``from panda_env.quiet import pybullet``), so it is
imported when an env is built, not when ``panda_env`` is imported (the plugin's start check imports it).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_pybullet_quietly() -> ModuleType:
    """Import ``pybullet`` once with file descriptor 2 pointed at /dev/null (its banner is printed from C)."""
    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (an embedded interpreter): import as is
        import pybullet

        return pybullet
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import pybullet  # an ImportError reaches the importing module, after fd 2 is back
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return pybullet


pybullet = import_pybullet_quietly()
