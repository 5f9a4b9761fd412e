"""Import PyBullet without its C-level "pybullet build time" line reaching the user's stderr."""

from __future__ import annotations

import os
import sys


def import_pybullet_quietly() -> None:
    """Import ``pybullet`` once with file descriptor 2 pointed at /dev/null (its banner is printed from C)."""
    if "pybullet" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (an embedded interpreter): import as is
        import pybullet  # noqa: F401
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import pybullet  # noqa: F401
            except ImportError:
                pass  # reported where it is needed
    finally:
        os.dup2(saved, 2)
        os.close(saved)
