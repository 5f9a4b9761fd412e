"""What the suite's test modules share: the env's images must be what the classifier takes."""

from __future__ import annotations

from typing import Any

import pytest


def check_image_shape(rollout: Any, backend: Any) -> None:
    """Fail the test, naming both shapes, when the rollout's images are not the classifier's input."""
    if isinstance(rollout.images, dict):
        return  # named inputs were checked one by one as the rollout collected them
    shape = tuple(rollout.images.shape[1:])
    if shape != tuple(backend.image_shape):
        pytest.fail(f"the env's images are {shape} but the classifier takes {tuple(backend.image_shape)}: configure "
                    f"the env (drl_env) to render what the classifier (drl_model) was trained on", pytrace=False)
