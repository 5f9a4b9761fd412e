"""Reward backends for tests: loaded once per session per (backend, classifier directory, options).

A backend whose engine is not installed makes the asking test skip, with the pip command that
installs its extra. Engines are imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_drlreward.backends import missing_package
from pytest_drlreward.backends.registry import is_callable_spec

NO_MODEL_REASON = "no classifier configured: set the drl_model ini key or --drl-model=DIR"


class BackendCache:
    """Opens each classifier directory once and loads each backend on it once (per set of options)."""

    def __init__(self, opened: dict[Path, Any] | None = None) -> None:
        self._dirs: dict[Path, Any] = dict(opened or {})  # path -> ModelDir already opened (and hash-checked)
        self._backends: dict[tuple, Any] = {}

    def model_dir(self, path: Path | None) -> Any:
        """The checked ``ModelDir`` at ``path``; skips the test when no directory is configured."""
        if path is None:
            pytest.skip(NO_MODEL_REASON)
        if path not in self._dirs:
            from pytest_drlreward.classifier import open_model_dir

            self._dirs[path] = open_model_dir(path)
        return self._dirs[path]

    def get(self, name: str, path: Path | None, **options: Any) -> Any:
        """Backend ``name`` on the classifier at ``path`` with ``options``; skips the test if its package is missing."""
        callable_reference = is_callable_spec(name)
        reason = None if callable_reference else missing_package(name)
        if reason is not None:
            pytest.skip(reason)
        directory = self.model_dir(path)
        key = (name, directory.path, tuple(sorted(options.items())))
        if key not in self._backends:
            from pytest_drlreward.backends import load_reference

            if callable_reference:  # a callable takes no backend options, only whose code it may be
                options = {key: value for key, value in options.items() if key == "trusted_modules"}
            self._backends[key] = load_reference(name, directory, **options)
        return self._backends[key]
