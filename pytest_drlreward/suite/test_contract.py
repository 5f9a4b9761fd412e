"""The contract suite: the env keeps the Gymnasium step contract, every backend agrees with the
Torch reference and classifies the labelled images, and each backend's latency is measured.

Hypothesis runs few examples (10 to 25) unless the project loaded its own settings profile.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from pytest_drlreward.strategies import action_sequences, image_batches, seeds

LABELLED_CHUNK = 64  # labelled images are checked this many at a time
TIMING_BATCHES = (1, 8)


def _settings(max_examples: int) -> settings:
    """``max_examples`` and no deadline, unless a profile was loaded (then its example count wins)."""
    profile = getattr(settings, "get_current_profile_name", lambda: "default")()
    counts = {"max_examples": max_examples} if profile == "default" else {}
    return settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], **counts)


def _chunks(array: np.ndarray, size: int = LABELLED_CHUNK):
    for start in range(0, len(array), size):
        yield array[start : start + size]


# --------------------------------------------------------------------------- environment


def test_env_keeps_step_contract(drl_env):
    """reset/step return what the spaces promise, and a seeded run replays identically."""
    from pytest_drlreward.checks import assert_step_contract

    @_settings(10)
    @given(seed=seeds(), actions=action_sequences(drl_env.action_space, min_size=1, max_size=12))
    def check(seed, actions):
        assert_step_contract(drl_env, actions, seed=seed)

    check()


# --------------------------------------------------------------------------- parity


@pytest.mark.parity
def test_backend_matches_reference_on_random_images(reference_backend, reward_backend, drl_parity):
    """Logits agree within drl_parity_atol/rtol on drawn image batches (argmax ties may differ)."""
    height, width, channels = reference_backend.image_shape

    @_settings(25)
    @given(images=image_batches(height, width, channels, min_batch=1, max_batch=8))
    def check(images):
        drl_parity.check(reference_backend, reward_backend, images, source="random images", check_argmax=False)

    check()


@pytest.mark.parity
def test_backend_matches_reference_on_labelled_images(reference_backend, reward_backend, labelled_images, drl_parity):
    """Logits and predicted classes agree on the labelled images."""
    images, _ = labelled_images
    for chunk in _chunks(images):
        drl_parity.check(reference_backend, reward_backend, chunk, source="labelled images")


# --------------------------------------------------------------------------- classification


def _assert_classifies(backend, images: np.ndarray, labels: np.ndarray) -> None:
    predicted = np.concatenate([np.argmax(backend.logits(chunk), axis=1) for chunk in _chunks(images)])
    wrong = np.flatnonzero(predicted != labels)
    listed = ", ".join(f"image {i}: predicted {predicted[i]}, label {labels[i]}" for i in wrong[:10])
    assert len(wrong) == 0, (
        f"backend {backend.name!r} misclassified {len(wrong)}/{len(labels)} labelled images: {listed}"
        + (" ..." if len(wrong) > 10 else "")
    )


def test_reference_classifies_labelled_images(reference_backend, labelled_images):
    _assert_classifies(reference_backend, *labelled_images)


def test_backend_classifies_labelled_images(reward_backend, labelled_images):
    _assert_classifies(reward_backend, *labelled_images)


# --------------------------------------------------------------------------- timing


def _timing_images(image_shape, batch: int) -> np.ndarray:
    return np.random.default_rng(batch).integers(0, 256, size=(batch, *image_shape), dtype=np.uint8)


@pytest.mark.timing
@pytest.mark.parametrize("batch", TIMING_BATCHES)
def test_reference_latency(reference_backend, drl_timing, batch):
    """Torch's median latency, the baseline of the timing table's speed-ups."""
    drl_timing.measure(reference_backend, _timing_images(reference_backend.image_shape, batch))


@pytest.mark.timing
@pytest.mark.parametrize("batch", TIMING_BATCHES)
def test_backend_latency(reward_backend, drl_timing, batch):
    """Each backend's median latency, shown in the timing table; no time is asserted."""
    drl_timing.measure(reward_backend, _timing_images(reward_backend.image_shape, batch))
