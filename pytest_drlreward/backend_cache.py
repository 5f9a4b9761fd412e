"""Reward backends for tests: loaded once per session per (backend, classifier directory).

A backend whose engine is not installed makes the asking test skip, with the pip command to fix it.
Everything heavy is imported on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

# backend name -> (module it imports, pip package that provides it)
PACKAGES = {"torch": ("torch", "torch"), "onnxruntime": ("onnxruntime", "onnxruntime"),
            "openvino": ("openvino", "openvino")}


def skip_unless_installed(backend: str) -> None:
    """Skip the current test when the package behind ``backend`` cannot be imported."""
    module, pip_name = PACKAGES.get(backend, (backend, backend))
    try:
        importlib.import_module(module)
    except ImportError:
        pytest.skip(f"{module} is not installed: pip install {pip_name}")


class BackendCache:
    """Opens each classifier directory once and loads each backend on it once."""

    def __init__(self) -> None:
        self._dirs: dict[Path | None, Any] = {}
        self._backends: dict[tuple[str, Path | None], Any] = {}

    def model_dir(self, path: Path | None) -> Any:
        """The checked ``ModelDir`` at ``path`` (``None``: the classifier shipped in ``panda_env``)."""
        if path not in self._dirs:
            from panda_env.reward import open_model_dir

            self._dirs[path] = open_model_dir(path)
        return self._dirs[path]

    def get(self, name: str, path: Path | None) -> Any:
        """Backend ``name`` on the classifier at ``path``; skips the test if its package is missing."""
        skip_unless_installed(name)
        key = (name, path)
        if key not in self._backends:
            from panda_env.reward import BackendUnavailableError, load_backend

            try:
                self._backends[key] = load_backend(name, self.model_dir(path))
            except BackendUnavailableError as error:
                pytest.skip(str(error))
        return self._backends[key]
