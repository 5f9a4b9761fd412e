"""The Gymnasium reset/step contract: types, spaces, rewards, info keys and seeded determinism."""

from __future__ import annotations

import copy
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.spaces import Box
from gymnasium.utils.env_checker import data_equivalence

from pytest_drlreward.checks._format import CheckError, show

_REWARD_SET_TOLERANCE = 1e-9


class StepContractError(CheckError):
    """An environment broke the Gymnasium reset/step contract; ``report`` says where (a :class:`StepContractReport`)."""


@dataclass(frozen=True)
class StepContractReport:
    """What :func:`assert_step_contract` ran, or where it found the env breaking the contract."""

    seed: int | None = None
    steps: int = 0
    resets: int = 0
    determinism_checked: bool = False
    where: str | None = None  # the reset or step that broke the contract (None: it held)
    problem: str | None = None

    @property
    def passed(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        if not self.passed:
            return f"{self.where}: {self.problem}"
        replay = ", replayed identically" if self.determinism_checked else ""
        return f"step contract held under seed={self.seed}: {self.steps} steps, {self.resets} resets{replay}"


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
    action_text = "" if action is _NO_ACTION else f" (action={show(action)})"
    return StepContractError(f"{where}{action_text}: {problem}", StepContractReport(where=where, problem=problem))


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
    raise _fail(where, action, f"observation {show(obs)} is not in observation_space {space!r}{reason}")


def _check_reward(reward: Any, reward_set: Collection[float] | None, where: str, action: Any) -> None:
    if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, (int, float, np.integer, np.floating)):
        raise _fail(where, action, f"reward {show(reward)} of type {type(reward).__name__} is not a real number "
                                   f"(float, int or numpy scalar)")
    if not math.isfinite(float(reward)):
        raise _fail(where, action, f"reward {reward!r} is not finite")
    if reward_set is not None and not any(abs(float(reward) - float(r)) <= _REWARD_SET_TOLERANCE for r in reward_set):
        raise _fail(where, action, f"reward {reward!r} is not in the declared reward_set {sorted(reward_set)}")


def _check_flag(flag: Any, label: str, where: str, action: Any) -> None:
    if not isinstance(flag, (bool, np.bool_)):
        raise _fail(where, action, f"{label} {show(flag)} of type {type(flag).__name__} is not a bool")


def _check_info(info: Any, required: Iterable[str], where: str, action: Any) -> None:
    if not isinstance(info, dict):
        raise _fail(where, action, f"info {show(info)} of type {type(info).__name__} is not a dict")
    missing = [key for key in required if key not in info]
    if missing:
        raise _fail(where, action, f"info is missing required keys {missing}; it has {sorted(map(str, info))}")


def _checked_reset(env: Any, seed: int, where: str) -> _Record:
    result = env.reset(seed=seed)
    if not isinstance(result, tuple) or len(result) != 2:
        raise _fail(where, _NO_ACTION, f"reset(seed={seed}) must return a 2-tuple (obs, info), got {show(result)}")
    obs, info = result
    _check_obs(env, obs, where, _NO_ACTION)
    _check_info(info, (), where, _NO_ACTION)
    return _Record(where, _NO_ACTION, copy.deepcopy(obs))


def _checked_step(env: Any, index: int, action: Any, reward_set: Collection[float] | None, required: Iterable[str]) -> _Record:
    where = f"step {index}"
    result = env.step(action)
    if not isinstance(result, tuple) or len(result) != 5:
        size = len(result) if isinstance(result, tuple) else "not a tuple"
        raise _fail(where, action, f"step must return a 5-tuple (obs, reward, terminated, truncated, info), got {size}: {show(result)}")
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
        return f"observation differs: first run {show(first.obs)}, second run {show(second.obs)}"
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
) -> StepContractReport:
    """Assert ``env`` keeps the Gymnasium reset/step contract over a run of actions; return the report.

    Resets with ``seed``, then takes ``actions`` (default: ``n_steps`` or 20 actions sampled
    from a copy of the action space seeded with ``seed``), resetting with ``seed + episode``
    after each episode ends. Checks the types and spaces of everything reset and step
    return, the reward against ``reward_set`` and the info keys; with ``check_determinism``
    replays the run and requires identical observations, rewards and flags.
    Raises :class:`StepContractError` naming the step, the action and the offending value.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    actions = _sample_actions(env, seed, n_steps) if actions is None else list(actions)
    first = _run(env, actions, seed, reward_set, required_info_keys)
    resets = sum(record.action is _NO_ACTION for record in first)
    if not check_determinism:
        return StepContractReport(seed, len(first) - resets, resets)
    second = _run(env, actions, seed, reward_set, required_info_keys)
    for a, b in zip(first, second):
        problem = _first_difference(a, b)
        if problem:
            raise _fail(a.where, a.action, f"not deterministic under seed={seed}: {problem}")
    if len(first) != len(second):
        problem = f"not deterministic under seed={seed}: runs had {len(first)} and {len(second)} resets+steps"
        raise StepContractError(problem, StepContractReport(seed, where="the replay", problem=problem))
    return StepContractReport(seed, len(first) - resets, resets, determinism_checked=True)
