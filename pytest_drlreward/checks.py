"""Checks for reward backends and Gymnasium environments, usable with or without pytest.

Each check raises an ``AssertionError`` subclass whose message says exactly what
failed and where, so a failing test explains itself.
"""

from __future__ import annotations

import copy
import math
import reprlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from gymnasium.spaces import Box
from gymnasium.utils.env_checker import data_equivalence

__all__ = [
    "ParityError",
    "ParityReport",
    "RewardBackend",
    "StepContractError",
    "assert_backends_agree",
    "assert_step_contract",
]

_MAX_LISTED = 20
_REWARD_SET_TOLERANCE = 1e-9


class ParityError(AssertionError):
    """Two reward backends gave different logits for the same images."""


class StepContractError(AssertionError):
    """An environment broke the Gymnasium reset/step contract."""


class RewardBackend(Protocol):
    """A reward model runtime: a name and a function from uint8 images (N, H, W, 3) to logits (N, K)."""

    name: str

    def logits(self, images: np.ndarray) -> np.ndarray: ...


def _fmt(x: float) -> str:
    """A compact number: ``1e-4``, ``0.5``, ``3.1e-07`` style."""
    if x == 0 or not math.isfinite(x) or 1e-2 <= abs(x) < 1e4:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _show(value: Any) -> str:
    """A short readable rendering of an observation, action or other value."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=20, edgeitems=3, max_line_width=10_000)
        return f"array({text}, dtype={value.dtype}, shape={value.shape})"
    if isinstance(value, np.generic):
        return repr(value)
    return reprlib.repr(value)


def _listed(indices: Sequence[int]) -> str:
    """At most ``_MAX_LISTED`` indices, with a note of how many more there are."""
    shown = [int(i) for i in indices[:_MAX_LISTED]]
    more = len(indices) - len(shown)
    return f"{shown}" + (f" (+{more} more)" if more else "")


# --------------------------------------------------------------------------- parity


@dataclass(frozen=True)
class ParityReport:
    """Summary of a passing :func:`assert_backends_agree`; ``names`` is (reference, candidate)."""

    names: tuple[str, str]
    n_images: int
    max_abs_error: float
    max_rel_error: float
    argmax_disagreements: int
    atol: float
    rtol: float

    def __str__(self) -> str:
        reference, candidate = self.names
        agree = self.n_images - self.argmax_disagreements
        return (
            f"{candidate} vs {reference}: {self.n_images} images, max |diff| {self.max_abs_error:.2g}, "
            f"argmax agree {agree}/{self.n_images} (atol={_fmt(self.atol)}, rtol={_fmt(self.rtol)})"
        )


def _backend_name(backend: Any) -> str:
    return str(getattr(backend, "name", type(backend).__name__))


def _logits_of(backend: Any, images: np.ndarray, role: str) -> np.ndarray:
    """Call ``backend.logits`` and check the result is an (N, K) array for N images."""
    out = np.asarray(backend.logits(images))
    name = _backend_name(backend)
    if out.ndim != 2 or out.shape[0] != len(images):
        raise ParityError(
            f"{role} backend {name!r} returned logits of shape {out.shape} for {len(images)} images; expected (N, K) = ({len(images)}, K)"
        )
    return out


def _check_finite(logits: np.ndarray, name: str, role: str) -> None:
    """Raise naming where the first non-finite logits are."""
    bad = np.argwhere(~np.isfinite(logits))
    if len(bad) == 0:
        return
    where = ", ".join(f"image {i} class {k} = {logits[i, k]}" for i, k in bad[:_MAX_LISTED])
    more = f" (+{len(bad) - _MAX_LISTED} more)" if len(bad) > _MAX_LISTED else ""
    raise ParityError(
        f"{role} backend {name!r} returned {len(bad)} non-finite logits out of {logits.size}: {where}{more}"
    )


def _parity_message(
    names: tuple[str, str], ref: np.ndarray, cand: np.ndarray, atol: float, rtol: float, disagree: np.ndarray
) -> str:
    """Describe every way the candidate logits differ from the reference ones."""
    ref_name, cand_name = names
    diff = np.abs(cand - ref)
    allowed = atol + rtol * np.abs(ref)
    n_bad = int(np.count_nonzero(diff > allowed))
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(diff > allowed, diff / allowed, 0.0)
        excess = np.where(np.isnan(excess), np.inf, excess)
        rel = np.where(diff == 0, 0.0, diff / np.abs(ref))
    worst = np.unravel_index(int(np.argmax(excess if n_bad else diff)), diff.shape)
    i, k = int(worst[0]), int(worst[1])
    return (
        f"backends disagree: candidate {cand_name!r} vs reference {ref_name!r} on {ref.shape[0]} images x {ref.shape[1]} classes\n"
        f"  out of tolerance: {n_bad}/{ref.size} elements (atol={_fmt(atol)}, rtol={_fmt(rtol)}; "
        f"allowed |candidate - reference| <= atol + rtol*|reference|)\n"
        f"  worst element: image {i}, class {k}: reference={ref[i, k]:.7g}, candidate={cand[i, k]:.7g}, "
        f"abs error={_fmt(float(diff[i, k]))}, rel error={_fmt(float(rel[i, k]))}\n"
        f"  argmax disagreements: {len(disagree)}/{ref.shape[0]} images"
        + (f" at image indices {_listed(disagree)}" if len(disagree) else "")
    )


def assert_backends_agree(
    reference: RewardBackend,
    candidate: RewardBackend,
    images: np.ndarray,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    *,
    check_argmax: bool = True,
) -> ParityReport:
    """Assert two backends give the same logits for ``images`` within tolerance.

    An element passes when ``|candidate - reference| <= atol + rtol * |reference|``.
    With ``check_argmax`` the predicted class of every image must also match.
    Raises :class:`ParityError` otherwise; returns a :class:`ParityReport` on success.
    """
    images = np.asarray(images)
    names = (_backend_name(reference), _backend_name(candidate))
    ref = _logits_of(reference, images, "reference")
    cand = _logits_of(candidate, images, "candidate")
    if ref.shape != cand.shape:
        raise ParityError(
            f"logit shapes differ: reference {names[0]!r} gave {ref.shape}, candidate {names[1]!r} gave {cand.shape}"
        )
    _check_finite(ref, names[0], "reference")
    _check_finite(cand, names[1], "candidate")
    ref64, cand64 = ref.astype(np.float64), cand.astype(np.float64)
    diff = np.abs(cand64 - ref64)
    in_tolerance = bool(np.all(diff <= atol + rtol * np.abs(ref64)))
    disagree = np.flatnonzero(ref64.argmax(axis=1) != cand64.argmax(axis=1)) if ref.size else np.array([], int)
    if not in_tolerance or (check_argmax and len(disagree)):
        raise ParityError(_parity_message(names, ref64, cand64, atol, rtol, disagree))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / np.abs(ref64))
    return ParityReport(
        names=names,
        n_images=int(images.shape[0]) if images.ndim else 0,
        max_abs_error=float(diff.max(initial=0.0)),
        max_rel_error=float(rel.max(initial=0.0)),
        argmax_disagreements=len(disagree),
        atol=float(atol),
        rtol=float(rtol),
    )


# --------------------------------------------------------------------------- step contract


@dataclass(frozen=True)
class _Record:
    """What one reset or step returned, kept for the determinism replay."""

    where: str
    action: Any
    obs: Any
    reward: Any = None
    terminated: Any = None
    truncated: Any = None


_NO_ACTION = object()  # marks records of resets, which take no action


def _fail(where: str, action: Any, problem: str) -> StepContractError:
    action_text = "" if action is _NO_ACTION else f" (action={_show(action)})"
    return StepContractError(f"{where}{action_text}: {problem}")


def _box_reason(space: Box, obs: Any) -> str:
    """Why ``obs`` is not in a Box: dtype, shape or the first out-of-bounds element."""
    if not isinstance(obs, np.ndarray):
        return f"; it is a {type(obs).__name__}, not a numpy array"
    if obs.shape != space.shape:
        return f"; shape {obs.shape} != space shape {space.shape}"
    if not np.can_cast(obs.dtype, space.dtype):
        return f"; dtype {obs.dtype} cannot be cast safely to space dtype {space.dtype}"
    with np.errstate(invalid="ignore"):
        outside = np.argwhere(~((obs >= space.low) & (obs <= space.high)))
    if len(outside):
        idx = tuple(int(j) for j in outside[0])
        return f"; element {idx} = {obs[idx]} is outside [{space.low[idx]}, {space.high[idx]}]"
    return ""


def _check_obs(env: Any, obs: Any, where: str, action: Any) -> None:
    space = env.observation_space
    if space.contains(obs):
        return
    reason = _box_reason(space, obs) if isinstance(space, Box) else ""
    raise _fail(where, action, f"observation {_show(obs)} is not in observation_space {space!r}{reason}")


def _check_reward(reward: Any, reward_set: Collection[float] | None, where: str, action: Any) -> None:
    if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, (int, float, np.integer, np.floating)):
        raise _fail(where, action, f"reward {_show(reward)} of type {type(reward).__name__} is not a real number "
                                   f"(float, int or numpy scalar)")
    if not math.isfinite(float(reward)):
        raise _fail(where, action, f"reward {reward!r} is not finite")
    if reward_set is not None and not any(abs(float(reward) - float(r)) <= _REWARD_SET_TOLERANCE for r in reward_set):
        raise _fail(where, action, f"reward {reward!r} is not in the declared reward_set {sorted(reward_set)}")


def _check_flag(flag: Any, label: str, where: str, action: Any) -> None:
    if not isinstance(flag, (bool, np.bool_)):
        raise _fail(where, action, f"{label} {_show(flag)} of type {type(flag).__name__} is not a bool")


def _check_info(info: Any, required: Iterable[str], where: str, action: Any) -> None:
    if not isinstance(info, dict):
        raise _fail(where, action, f"info {_show(info)} of type {type(info).__name__} is not a dict")
    missing = [key for key in required if key not in info]
    if missing:
        raise _fail(where, action, f"info is missing required keys {missing}; it has {sorted(map(str, info))}")


def _checked_reset(env: Any, seed: int, where: str) -> _Record:
    result = env.reset(seed=seed)
    if not isinstance(result, tuple) or len(result) != 2:
        raise _fail(where, _NO_ACTION, f"reset(seed={seed}) must return a 2-tuple (obs, info), got {_show(result)}")
    obs, info = result
    _check_obs(env, obs, where, _NO_ACTION)
    _check_info(info, (), where, _NO_ACTION)
    return _Record(where, _NO_ACTION, copy.deepcopy(obs))


def _checked_step(env: Any, index: int, action: Any, reward_set: Collection[float] | None, required: Iterable[str]) -> _Record:
    where = f"step {index}"
    result = env.step(action)
    if not isinstance(result, tuple) or len(result) != 5:
        size = len(result) if isinstance(result, tuple) else "not a tuple"
        raise _fail(where, action, f"step must return a 5-tuple (obs, reward, terminated, truncated, info), got {size}: {_show(result)}")
    obs, reward, terminated, truncated, info = result
    _check_obs(env, obs, where, action)
    _check_reward(reward, reward_set, where, action)
    _check_flag(terminated, "terminated", where, action)
    _check_flag(truncated, "truncated", where, action)
    _check_info(info, required, where, action)
    return _Record(where, action, copy.deepcopy(obs), reward, bool(terminated), bool(truncated))


def _run(env: Any, actions: Sequence[Any], seed: int, reward_set: Collection[float] | None, required: Sequence[str]) -> list[_Record]:
    """Reset, take every action with all checks, resetting after each episode ends."""
    records = [_checked_reset(env, seed, f"reset(seed={seed})")]
    episode = 0
    for index, action in enumerate(actions):
        record = _checked_step(env, index, action, reward_set, required)
        records.append(record)
        if record.terminated or record.truncated:
            episode += 1
            records.append(_checked_reset(env, seed + episode, f"reset(seed={seed + episode}) after step {index}"))
    return records


def _first_difference(first: _Record, second: _Record) -> str | None:
    if not data_equivalence(first.obs, second.obs, exact=True):
        return f"observation differs: first run {_show(first.obs)}, second run {_show(second.obs)}"
    for label in ("reward", "terminated", "truncated"):
        a, b = getattr(first, label), getattr(second, label)
        if a != b:
            return f"{label} differs: first run {a!r}, second run {b!r}"
    return None


def _sample_actions(env: Any, seed: int, n_steps: int | None) -> list[Any]:
    """Actions sampled from a seeded copy of ``env.action_space`` (the env's own RNG is untouched)."""
    space = copy.deepcopy(env.action_space)
    space.seed(seed)
    return [space.sample() for _ in range(20 if n_steps is None else n_steps)]


def assert_step_contract(
    env: Any,
    actions: Sequence[Any] | None = None,
    *,
    seed: int = 0,
    n_steps: int | None = None,
    reward_set: Collection[float] | None = None,
    required_info_keys: Sequence[str] = (),
    check_determinism: bool = True,
) -> None:
    """Assert ``env`` keeps the Gymnasium reset/step contract over a run of actions.

    Resets with ``seed``, then takes ``actions`` (default: ``n_steps`` or 20 actions sampled
    from a copy of the action space seeded with ``seed``), resetting with ``seed + episode``
    after each episode ends. Checks the types and spaces of everything reset and step
    return, the reward against ``reward_set`` and the info keys; with ``check_determinism``
    replays the run and requires identical observations, rewards and flags.
    Raises :class:`StepContractError` naming the step, the action and the offending value.
    """
    actions = _sample_actions(env, seed, n_steps) if actions is None else list(actions)
    first = _run(env, actions, seed, reward_set, required_info_keys)
    if not check_determinism:
        return
    second = _run(env, actions, seed, reward_set, required_info_keys)
    for a, b in zip(first, second):
        problem = _first_difference(a, b)
        if problem:
            raise _fail(a.where, a.action, f"not deterministic under seed={seed}: {problem}")
    if len(first) != len(second):
        raise StepContractError(f"not deterministic under seed={seed}: runs had {len(first)} and {len(second)} resets+steps")
