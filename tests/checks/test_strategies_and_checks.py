"""Tests for pytest_drlreward.strategies and pytest_drlreward.checks."""

from __future__ import annotations

import itertools
import random
import re

import numpy as np
import pytest
from fakes import FixedLogitsBackend, LineEnv, MeanPixelBackend
from gymnasium import spaces
from hypothesis import given
from hypothesis import strategies as st

from pytest_drlreward.checks import (
    ParityError,
    ParityReport,
    StepContractError,
    assert_backends_agree,
    assert_step_contract,
)
from pytest_drlreward.strategies import (
    action_sequences,
    actions,
    from_space,
    image_batches,
    observations,
    seeds,
)

# --------------------------------------------------------------------------- strategies

SPACES = {
    "box_f32_bounded": spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32),
    "box_f32_rounding": spaces.Box(np.float32(0.1), np.float32(0.3), shape=(2, 2), dtype=np.float32),
    "box_f32_unbounded": spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32),
    "box_f32_partly_bounded": spaces.Box(
        low=np.array([-np.inf, 0.0, -2.5], dtype=np.float32),
        high=np.array([0.0, np.inf, 2.5], dtype=np.float32),
        dtype=np.float32,
    ),
    "box_f64_mixed_bounds": spaces.Box(
        low=np.array([0.40, -0.40, -np.inf]), high=np.array([0.70, 0.40, 1e300]), dtype=np.float64
    ),
    "box_f64_point": spaces.Box(0.5, 0.5, shape=(2,), dtype=np.float64),
    "box_f16": spaces.Box(-2.0, 2.0, shape=(3,), dtype=np.float16),
    "box_f32_many_bounds": spaces.Box(
        low=-np.arange(1, 41, dtype=np.float32), high=np.arange(1, 41, dtype=np.float32), dtype=np.float32
    ),
    "box_f32_scalar_shape": spaces.Box(0.0, 1.0, shape=(), dtype=np.float32),
    "box_uint8_image": spaces.Box(0, 255, shape=(8, 8, 3), dtype=np.uint8),
    "box_int64_unbounded": spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.int64),
    "box_int32_mixed": spaces.Box(low=np.array([-3, 0, 5]), high=np.array([3, 0, 9]), dtype=np.int32),
    "box_uint64_full": spaces.Box(0, np.iinfo(np.uint64).max, shape=(2,), dtype=np.uint64),
    "box_bool": spaces.Box(0, 1, shape=(3,), dtype=np.bool_),
    "box_empty": spaces.Box(0.0, 1.0, shape=(0,), dtype=np.float32),
    "discrete": spaces.Discrete(5),
    "discrete_start": spaces.Discrete(3, start=-2),
    "discrete_int8": spaces.Discrete(4, start=120, dtype=np.int8),
    "multidiscrete": spaces.MultiDiscrete([2, 3, 4]),
    "multidiscrete_start_2d": spaces.MultiDiscrete(np.array([[2, 5], [3, 1]]), start=np.array([[-1, 10], [0, 7]])),
    "multibinary_int": spaces.MultiBinary(5),
    "multibinary_shape": spaces.MultiBinary([2, 3]),
    "tuple": spaces.Tuple((spaces.Discrete(2), spaces.Box(-1.0, 1.0, shape=(2,)))),
    "dict_nested": spaces.Dict(
        {
            "image": spaces.Box(0, 255, shape=(4, 4, 3), dtype=np.uint8),
            "state": spaces.Dict(
                {
                    "xy": spaces.Box(np.array([0.4, -0.4], np.float32), np.array([0.7, 0.4], np.float32), dtype=np.float32),
                    "flags": spaces.MultiBinary(2),
                    "pair": spaces.Tuple((spaces.Discrete(3, start=1), spaces.MultiDiscrete([3, 3]))),
                }
            ),
        }
    ),
}


@pytest.mark.parametrize("name", list(SPACES))
@given(data=st.data())
def test_from_space_draws_only_members(name: str, data: st.DataObject) -> None:
    space = SPACES[name]
    element = data.draw(from_space(space))
    assert space.contains(element), (name, element)


@pytest.mark.parametrize("name", [name for name, space in SPACES.items() if isinstance(space, spaces.Box)])
@given(data=st.data())
def test_box_draws_are_finite_even_for_unbounded_boxes(name: str, data: st.DataObject) -> None:
    element = data.draw(from_space(SPACES[name]))
    assert np.all(np.isfinite(np.asarray(element, dtype=float))), (name, element)


@pytest.mark.parametrize("name", ["box_f32_bounded", "box_uint8_image", "box_int32_mixed", "multidiscrete_start_2d"])
@given(data=st.data())
def test_box_like_draws_have_space_dtype_and_shape(name: str, data: st.DataObject) -> None:
    space = SPACES[name]
    element = data.draw(from_space(space))
    assert element.dtype == space.dtype
    assert element.shape == space.shape


@given(data=st.data())
def test_aliases_and_sequences_stay_in_space(data: st.DataObject) -> None:
    space = SPACES["dict_nested"]
    assert space.contains(data.draw(actions(space)))
    assert space.contains(data.draw(observations(space)))
    seq = data.draw(action_sequences(spaces.Discrete(3), min_size=2, max_size=5))
    assert 2 <= len(seq) <= 5 and all(spaces.Discrete(3).contains(a) for a in seq)


@pytest.mark.parametrize(
    "space", [spaces.Text(5), spaces.Sequence(spaces.Discrete(2)), spaces.Dict({"ok": spaces.Discrete(2), "bad": spaces.Text(3)})]
)
def test_unsupported_space_raises_type_error(space: spaces.Space) -> None:
    with pytest.raises(TypeError, match=r"(Text|Sequence).*supported: Box, Discrete"):
        from_space(space)


@given(images=image_batches(16, 12, min_batch=1, max_batch=4))
def test_image_batches_dtype_and_shape(images: np.ndarray) -> None:
    assert images.dtype == np.uint8
    assert images.ndim == 4 and 1 <= images.shape[0] <= 4 and images.shape[1:] == (16, 12, 3)


@given(seed=seeds())
def test_seeds_are_accepted_by_gymnasium_reset(seed: int) -> None:
    env = LineEnv()
    env.reset(seed=seed)  # Gymnasium's seeding raises for seeds it cannot take
    assert env.np_random is not None


# --------------------------------------------------------------------------- parity

RNG = np.random.default_rng(1234)
WEIGHTS = RNG.normal(size=(3, 5)).astype(np.float32)


@given(images=image_batches(8, 8, max_batch=6))
def test_identical_backends_agree(images: np.ndarray) -> None:
    report = assert_backends_agree(MeanPixelBackend("torch", WEIGHTS), MeanPixelBackend("openvino", WEIGHTS.copy()), images)
    assert isinstance(report, ParityReport)
    assert report.n_images == len(images) and report.max_abs_error == 0.0 and report.argmax_disagreements == 0
    assert str(report).startswith(f"openvino vs torch: {len(images)} images")
    assert f"argmax agree {len(images)}/{len(images)} (atol=1e-4, rtol=1e-3)" in str(report)


def test_other_weights_fail_naming_worst_image_and_tolerance() -> None:
    images = np.full((4, 8, 8, 3), 10, dtype=np.uint8)
    images[2] = 250  # brightest image: largest logits, hence largest error
    other = WEIGHTS * 1.5
    with pytest.raises(ParityError) as excinfo:
        assert_backends_agree(MeanPixelBackend("torch", WEIGHTS), MeanPixelBackend("onnx", other), images)
    msg = str(excinfo.value)
    assert "'onnx'" in msg and "'torch'" in msg
    assert "image 2" in msg
    assert "atol=1e-4" in msg and "rtol=1e-3" in msg
    assert "/20 elements" in msg


def test_argmax_disagreement_fails_even_within_tolerance() -> None:
    ref = np.array([[1.0, 0.99999], [0.0, 2.0], [3.0, 1.0]], dtype=np.float32)
    cand = np.array([[0.99999, 1.0], [0.0, 2.0], [3.0, 1.0]], dtype=np.float32)
    with pytest.raises(ParityError, match=r"argmax disagreements: 1/3 images at image indices \[0\]"):
        assert_backends_agree(FixedLogitsBackend("a", ref), FixedLogitsBackend("b", cand), np.zeros((3, 2, 2, 3), np.uint8))
    report = assert_backends_agree(
        FixedLogitsBackend("a", ref), FixedLogitsBackend("b", cand), np.zeros((3, 2, 2, 3), np.uint8), check_argmax=False
    )
    assert report.argmax_disagreements == 1


def test_shape_mismatch_fails() -> None:
    images = np.zeros((2, 4, 4, 3), np.uint8)
    with pytest.raises(ParityError, match=r"shapes differ.*\(2, 5\).*\(2, 4\)"):
        assert_backends_agree(MeanPixelBackend("torch", WEIGHTS), MeanPixelBackend("ov", WEIGHTS[:, :4]), images)


def test_nan_output_fails_naming_where() -> None:
    images = np.zeros((3, 4, 4, 3), np.uint8)
    out = np.zeros((3, 5), np.float32)
    out[1, 3] = np.nan
    with pytest.raises(ParityError, match=r"candidate backend 'ov' returned 1 non-finite.*input 1 element 3 = nan"):
        assert_backends_agree(FixedLogitsBackend("torch", np.zeros((3, 5), np.float32)), FixedLogitsBackend("ov", out), images)


# --------------------------------------------------------------------------- step contract

REWARDS = (-1.0, 0.0, 10.0)


class OutOfSpaceEnv(LineEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs + 100.0, reward, terminated, truncated, info


class OffRewardEnv(LineEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, 0.5, terminated, truncated, info


class RandomEnv(LineEnv):
    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self.pos = float(random.randint(0, 10**6)) / 10**5  # unseeded: differs between runs
        return self._obs(), info


_COUNTER = itertools.count()


class CounterEnv(LineEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, float(next(_COUNTER) % 2) - 1.0, terminated, truncated, info


class IntFlagEnv(LineEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, int(terminated), truncated, info


def test_well_behaved_env_passes() -> None:
    env = LineEnv()
    assert_step_contract(env, seed=3, n_steps=30, reward_set=REWARDS, required_info_keys=("pos",))
    report = assert_step_contract(env, [2, 2, 2, 2, 0], seed=0, reward_set=REWARDS)
    assert report.passed and report.determinism_checked and report.seed == 0
    assert report.steps == 5 and report.resets >= 1, report
    assert not assert_step_contract(env, [1], check_determinism=False).determinism_checked


@given(seed=seeds(), acts=action_sequences(LineEnv.action_space, max_size=12))
def test_well_behaved_env_passes_for_any_seed_and_actions(seed: int, acts: list) -> None:
    assert_step_contract(LineEnv(), acts, seed=seed, reward_set=REWARDS)


def test_obs_outside_space_fails() -> None:
    with pytest.raises(StepContractError, match=r"step 0 \(action=.*\).*not in observation_space.*outside"):
        assert_step_contract(OutOfSpaceEnv(), n_steps=5)


def test_reward_outside_reward_set_fails() -> None:
    with pytest.raises(StepContractError, match=r"step 0 \(action=2\): reward 0.5 is not in the declared reward_set") as info:
        assert_step_contract(OffRewardEnv(), [2, 1], reward_set=REWARDS)
    from pytest_drlreward.checks._format import CheckError

    assert isinstance(info.value, CheckError) and not info.value.report.passed
    assert info.value.report.where == "step 0" and "reward_set" in info.value.report.problem


@pytest.mark.parametrize("env_type", [RandomEnv, CounterEnv])
def test_nondeterministic_env_fails(env_type: type) -> None:
    with pytest.raises(StepContractError, match=r"not deterministic under seed=7: .* differs: first run .*, second run"):
        assert_step_contract(env_type(), seed=7, n_steps=5)


def test_non_bool_terminated_fails() -> None:
    with pytest.raises(StepContractError, match=r"step 0 \(action=1\): terminated 0 of type int is not a bool"):
        assert_step_contract(IntFlagEnv(), [1, 1])


def test_missing_info_key_and_bad_reset_fail() -> None:
    with pytest.raises(StepContractError, match=r"step 0 .*missing required keys \['success'\]"):
        assert_step_contract(LineEnv(), [1], required_info_keys=("pos", "success"))

    class OldApiEnv(LineEnv):
        def reset(self, *, seed=None, options=None):
            return super().reset(seed=seed)[0]

    with pytest.raises(StepContractError, match=r"reset\(seed=0\).*2-tuple"):
        assert_step_contract(OldApiEnv(), [1])


@pytest.mark.parametrize("value, kwargs, message", [
    (0, {}, "n must be a positive integer, got 0"),
    (2.0, {}, "n must be a positive integer, got 2.0"),
    (True, {}, "n must be a positive integer, got True"),
    ("3", {}, "n must be a positive integer, got '3'"),
    (9, {"high": 8}, "n must be a positive integer up to 8, got 9"),
    (-1, {"low": 0}, "n must be an integer >= 0, got -1"),
    (5, {"low": 0, "high": 4}, "n must be an integer from 0 to 4, got 5"),
    (0, {"allow_none": True}, "n must be a positive integer or None, got 0"),
])
def test_check_int_names_the_argument_and_the_bound(value, kwargs, message):
    from pytest_drlreward.util.validation import check_int

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_int(value, "n", **kwargs)


def test_check_int_accepts_what_it_should():
    from pytest_drlreward.util.validation import check_int

    assert check_int(np.int64(3), "n") == 3 and type(check_int(np.int64(3), "n")) is int
    assert check_int(None, "n", allow_none=True) is None
    assert check_int(8, "n", high=8) == 8 and check_int(0, "n", low=0) == 0
