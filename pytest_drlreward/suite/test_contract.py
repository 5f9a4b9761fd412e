"""The contract suite: the env keeps the Gymnasium contract (our checks, Gymnasium's and SB3's
checkers, vectorisation), every backend agrees with the reference (``drl_reference``; random inputs
drawn per named input, labelled images, the env's own inputs), for every decision rule, classifies
the labelled images well enough (reward fidelity, the agreement with the env's truth, is in
``test_fidelity.py``); each backend's latency is measured.

Hypothesis runs few examples (10 to 25) unless the project loaded its own settings profile. A test
with ``@given`` and function-scoped fixtures would share one fixture value across all its examples
(and Hypothesis's health check refuses that), so each property here is an inner function, decorated
and called inside the test: the fixtures are built once, on purpose, and each example resets the env
with its own seed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from pytest_drlreward.checks._inputs import noun
from pytest_drlreward.plugin.recording import ACCURACY_PROPERTY
from pytest_drlreward.plugin.verdicts import describe_sources, require_varied
from pytest_drlreward.strategies import action_sequences, image_batches, input_batches, seeds
from pytest_drlreward.suite.shapes import check_image_shape

TIMING_BATCHES = (1, 8)
VECTOR_ENVS = 2
VECTOR_STEPS = 12


def _settings(max_examples: int) -> settings:
    """``max_examples`` and no deadline, unless a profile was loaded (then its example count wins)."""
    profile = getattr(settings, "get_current_profile_name", lambda: "default")()
    counts = {"max_examples": max_examples} if profile == "default" else {}
    return settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], **counts)


# --------------------------------------------------------------------------- environment


def test_env_keeps_step_contract(drl_env):
    """reset/step return what the spaces promise, and a seeded run replays identically."""
    from pytest_drlreward.checks import assert_step_contract

    @_settings(10)
    @given(seed=seeds(), actions=action_sequences(drl_env.action_space, min_size=1, max_size=12))
    def check(seed, actions):
        assert_step_contract(drl_env, actions, seed=seed)

    check()


def test_env_passes_gymnasium_checker(drl_env_factory):
    """Gymnasium's check_env finds no error and warns about nothing (render modes are not checked)."""
    from pytest_drlreward.checks import run_gymnasium_checker

    run_gymnasium_checker(drl_env_factory())


def test_env_passes_sb3_checker(drl_env_factory):
    """stable-baselines3's check_env finds no error (its advice shows as warnings); needs stable-baselines3."""
    pytest.importorskip("stable_baselines3", reason="stable-baselines3 is not installed: its env checker is skipped")
    from pytest_drlreward.checks import run_sb3_checker

    for advice in run_sb3_checker(drl_env_factory()):
        warnings.warn(f"stable-baselines3's check_env: {advice}", UserWarning, stacklevel=1)


def test_vector_env_matches_single_envs(drl_config):
    """Envs built from drl_env are independent: a Gymnasium SyncVectorEnv of them gives what each gives alone."""
    from gymnasium.vector import SyncVectorEnv

    from pytest_drlreward.checks import assert_vecenv_matches
    from pytest_drlreward.env.spec import make_env

    if drl_config.env is None:
        pytest.skip("no env configured: set the drl_env ini key or --drl-env=ID_OR_SPEC")
    env_fns = [lambda: make_env(drl_config.env_to_make())] * VECTOR_ENVS
    vector = SyncVectorEnv(env_fns)
    try:
        assert_vecenv_matches(vector, env_fns, seeds=(0, 100), n_steps=VECTOR_STEPS)
    finally:
        vector.close()


# --------------------------------------------------------------------------- parity


class _Shown:
    """A drawn input batch (one array, or named arrays) that Hypothesis's "Falsifying example" shows in one line,
    not as the whole array."""

    def __init__(self, images) -> None:
        self.images = images

    def __repr__(self) -> str:
        import hashlib

        from pytest_drlreward.checks._inputs import is_image_batch

        def one(array) -> str:
            digest = hashlib.sha256(array.tobytes()).hexdigest()[:12]
            rows = "images" if is_image_batch(array) else "rows"
            return f"{len(array)} {rows} {'x'.join(map(str, array.shape[1:]))} {array.dtype}, sha256 {digest}"

        if isinstance(self.images, dict):
            return "<" + "; ".join(f"{name}: {one(array)}" for name, array in self.images.items()) + ">"
        return f"<{one(self.images)}>"

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # Hypothesis's printer asks this before the map's call
        printer.text(repr(self))


@pytest.mark.parity
def test_backend_matches_reference_on_random_images(reference_backend, reward_backend, drl_parity, drl_config):
    """Outputs agree within the backend's tolerance on drawn input batches (each named input with its dtype
    and range; decision ties may differ)."""
    if drl_config.quantized(reward_backend.name):
        pytest.skip(f"{reward_backend.name} is quantized: judged by its decisions on labelled and env images, "
                    f"not elementwise on noise")
    specs = getattr(reference_backend, "inputs", None)
    drawn = input_batches(specs, 1, 8) if specs else image_batches(*reference_backend.image_shape, 1, 8)

    @_settings(25)
    @given(batch=drawn.map(_Shown))
    def check(batch):
        drl_parity.check(reference_backend, reward_backend, batch.images, source=f"random {noun(batch.images)}",
                         check_argmax=False)

    check()


@pytest.mark.parity
def test_backend_matches_reference_on_labelled_images(reference_backend, reward_backend, labelled_images, drl_parity):
    """Logits and predicted classes agree on the labelled images (image numbers are positions in the file)."""
    images, _ = labelled_images
    require_varied(images, "parity", "labelled images", "put labelled images of different states in the file")
    drl_parity.check(reference_backend, reward_backend, images, source="labelled images")


@pytest.mark.parity
def test_backend_decisions_match_reference_on_env_images(reference_backend, reward_backend, drl_rollout, drl_parity,
                                                         drl_config):
    """On the images of a seeded rollout of the env (what an agent sees), no reward flips (quantized: within
    the drl_min_argmax_agreement budget), and exact backends' logits agree within tolerance."""
    check_image_shape(drl_rollout, reference_backend)
    require_varied(drl_rollout.images, "decisions", f"env inputs ({describe_sources(dict(drl_rollout.sources))})",
                   "make the env show its state: map drl_input_keys to the observation key that holds the camera, or give "
                   "it a camera_image() that draws the state")
    source = f"env {noun(drl_rollout.images)}"  # "env inputs" for named inputs or inputs that are not images
    if drl_config.quantized(reward_backend.name):
        drl_parity.check(reference_backend, reward_backend, drl_rollout, source=source)
        return
    drl_parity.decisions(reference_backend, reward_backend, drl_rollout, source=source)
    drl_parity.check(reference_backend, reward_backend, drl_rollout.images, source=source)


# --------------------------------------------------------------------------- classification


def _accuracy(backend, labelled_images, drl_config, drl_verdicts, reference=None):
    from pytest_drlreward.checks import assert_labelled_accuracy

    rule = getattr(backend, "decision", None)
    if rule is not None and not rule.decides:
        pytest.skip(f"the classifier's rule ({rule.describe()}) makes no goal decision: labelled accuracy has no "
                    f"meaning without decision.threshold")

    images, labels = labelled_images
    drl_verdicts.rests_on(f"labelled: {len(images)} labelled images ({drl_config.labelled_images})")
    if reference is not None and drl_config.quantized(backend.name):
        return assert_labelled_accuracy(backend, images, labels, reference=reference, max_drop=drl_config.max_accuracy_drop)
    return assert_labelled_accuracy(backend, images, labels, min_accuracy=drl_config.min_accuracy)


def test_reference_classifies_labelled_images(reference_backend, labelled_images, drl_config, drl_verdicts):
    """At least drl_min_accuracy of the labelled images are classified right."""
    drl_verdicts(ACCURACY_PROPERTY, lambda: _accuracy(reference_backend, labelled_images, drl_config, drl_verdicts))


def test_backend_classifies_labelled_images(reward_backend, reference_backend, labelled_images, drl_config, drl_verdicts):
    """At least drl_min_accuracy (quantized: the reference's accuracy minus drl_max_accuracy_drop)."""
    drl_verdicts(ACCURACY_PROPERTY, lambda: _accuracy(reward_backend, labelled_images, drl_config, drl_verdicts,
                                                      reference_backend))


# --------------------------------------------------------------------------- timing


def _timing_images(backend, batch: int):
    """Random inputs for ``backend``: one uint8 image batch, or one array per named input."""
    rng = np.random.default_rng(batch)
    specs = getattr(backend, "inputs", None)
    if not specs:
        return rng.integers(0, 256, size=(batch, *backend.image_shape), dtype=np.uint8)

    def draw(spec):
        if spec.dtype == "uint8":
            return rng.integers(0, 256, size=(batch, *spec.item_shape), dtype=np.uint8)
        return rng.uniform(*spec.range, size=(batch, *spec.item_shape)).astype(np.float32)

    drawn = {spec.name: draw(spec) for spec in specs}
    return drawn[specs[0].name] if len(specs) == 1 else drawn


@pytest.mark.timing
@pytest.mark.parametrize("batch", TIMING_BATCHES)
def test_reference_latency(reference_backend, drl_timing, batch):
    """The reference's median latency (the timing table's speed-ups are against Torch when it runs)."""
    drl_timing.measure(reference_backend, _timing_images(reference_backend, batch))


@pytest.mark.timing
@pytest.mark.parametrize("batch", TIMING_BATCHES)
def test_backend_latency(reward_backend, drl_timing, batch):
    """Each backend's median latency, shown in the timing table; no time is asserted."""
    drl_timing.measure(reward_backend, _timing_images(reward_backend, batch))
