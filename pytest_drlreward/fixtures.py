"""The plugin's fixtures. Each imports what it needs (Gymnasium, numpy, backends) when first used.

- ``drl_config`` (session): the :class:`~pytest_drlreward.options.DrlConfig` of this run.
- ``drl_env_factory``: ``make(**kwargs)`` building envs from ``drl_env``; closes them all afterwards.
- ``drl_env``: one env from the factory.
- ``reward_backend``: each configured backend in turn (tests get ids like ``test_x[openvino]``).
- ``reference_backend`` (session): the Torch backend on the same classifier.
- ``labelled_images`` (session): ``(images uint8 (N, H, W, 3), labels int (N,))``, or a skip.
- ``drl_parity``: parity checks with the configured tolerances, summarised in the terminal summary.
- ``drl_timing``: ``measure(backend, images)`` -> median ms, shown in the timing table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_drlreward.backend_cache import BackendCache
from pytest_drlreward.backends import REFERENCE_BACKEND
from pytest_drlreward.options import CONFIG_KEY, DrlConfig
from pytest_drlreward.recording import ParityRecorder, TimingRecorder

NO_ENV_REASON = "no env configured: set the drl_env ini key or --drl-env=ID_OR_SPEC"


@pytest.fixture(scope="session")
def drl_config(pytestconfig: pytest.Config) -> DrlConfig:
    """The plugin's settings for this run (options win over ini keys)."""
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture
def drl_env_factory(drl_config: DrlConfig) -> Iterator[Callable[..., Any]]:
    """A function ``make(**kwargs)`` that builds a new env from ``drl_env``; every env it made is closed at teardown."""
    from pytest_drlreward.envspec import make_env

    if drl_config.env is None:
        pytest.skip(NO_ENV_REASON)
    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        env = make_env(drl_config.env, **kwargs)
        made.append(env)
        return env

    yield make
    errors = []
    for env in reversed(made):
        try:
            env.close()
        except Exception as error:  # close every env even if one fails
            errors.append(error)
    if errors:
        raise errors[0]


@pytest.fixture
def drl_env(drl_env_factory: Callable[..., Any]) -> Any:
    """A fresh env built from ``drl_env`` with default arguments, closed after the test."""
    return drl_env_factory()


@pytest.fixture(scope="session")
def _drl_backend_cache() -> BackendCache:
    return BackendCache()


@pytest.fixture
def reward_backend(request: pytest.FixtureRequest, drl_config: DrlConfig, _drl_backend_cache: BackendCache) -> Any:
    """A configured reward backend on the configured classifier (the plugin parametrises over ``drl_backends``)."""
    name = getattr(request, "param", drl_config.backends[0])
    return _drl_backend_cache.get(name, drl_config.model_dir)


@pytest.fixture(scope="session")
def reference_backend(drl_config: DrlConfig, _drl_backend_cache: BackendCache) -> Any:
    """The Torch backend on the configured classifier: the reference for parity checks."""
    return _drl_backend_cache.get(REFERENCE_BACKEND, drl_config.model_dir)


def load_labelled_images(path: Path) -> tuple[Any, Any]:
    """Read ``images`` (uint8 (N, H, W, 3)) and ``labels`` (int (N,)) from an ``.npz`` file, read-only."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        missing = {"images", "labels"} - set(data.files)
        if missing:
            raise ValueError(f"{path} lacks {sorted(missing)}; it has {sorted(data.files)}")
        images, labels = data["images"], data["labels"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{path}: images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images) or labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: labels must be integers of shape ({len(images)},), "
                         f"got {labels.dtype} {labels.shape}")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@pytest.fixture(scope="session")
def labelled_images(drl_config: DrlConfig) -> tuple[Any, Any]:
    """``(images, labels)`` from ``drl_labelled_images`` (default: ``labelled_images.npz`` in the model directory)."""
    path = drl_config.labelled_images
    if path is None or not path.is_file():
        where = f"{path} does not exist" if path else "no drl_model or drl_labelled_images configured"
        pytest.skip(f"no labelled images: {where}")
    return load_labelled_images(path)


@pytest.fixture
def drl_parity(request: pytest.FixtureRequest, drl_config: DrlConfig) -> Iterator[ParityRecorder]:
    """``check(reference, candidate, images, source=...)`` with ``drl_parity_atol``/``drl_parity_rtol``."""
    recorder = ParityRecorder(request.node, drl_config.atol, drl_config.rtol)
    yield recorder
    recorder.finish()


@pytest.fixture
def drl_timing(request: pytest.FixtureRequest) -> TimingRecorder:
    """``measure(backend, images, rounds=50, warmup=10)`` -> median ms, recorded in the timing table."""
    return TimingRecorder(request.node)
