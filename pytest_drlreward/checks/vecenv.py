"""VecEnv parity: a vectorised env gives what its envs give when stepped one by one.

Works with Gymnasium's ``VectorEnv`` (autoreset modes next-step and same-step) and with
stable-baselines3's ``VecEnv`` API (``seed``/``reset``/``step`` returning 4 values, auto-reset with
``terminal_observation`` in the info), without importing stable-baselines3. Each step is compared field by field,
observations first (then rewards and done flags, then infos), so a mismatch names the first field that differs and,
in a Dict observation, its key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, show


class VecEnvMismatchError(CheckError):
    """A vectorised env and its envs stepped one by one gave different results (``report``: None, the message
    names the step, env and value)."""


@dataclass(frozen=True)
class VecEnvReport:
    """What :func:`assert_vecenv_matches` compared."""

    api: str
    n_envs: int
    seeds: tuple[int, ...]
    steps: int
    episode_ends: int
    terminations: int

    def __str__(self) -> str:
        return (f"{self.api} VecEnv of {self.n_envs} envs matched them stepped one by one: seeds {list(self.seeds)}, "
                f"{self.steps} steps each, {self.episode_ends} episode ends ({self.terminations} terminated)")


def _difference(a: Any, b: Any, atol: float, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place where ``a`` and ``b`` differ: ``(path, part of a, part of b)`` (path like ``['desired_goal']``,
    ``[1]`` or ``""`` for the whole value), or None when they are the same within ``atol``."""
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()):
            return path, a, b
        for key in b:
            found = _difference(a[key], b[key], atol, f"{path}[{key!r}]")
            if found is not None:
                return found
        return None
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        if len(a) != len(b):
            return path, a, b
        return next((found for i, (x, y) in enumerate(zip(a, b))
                     if (found := _difference(x, y, atol, f"{path}[{i}]")) is not None), None)
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        return path, a, b
    if x.dtype.kind in "fc" or y.dtype.kind in "fc":
        return None if np.allclose(x, y, rtol=0.0, atol=atol, equal_nan=True) else (path, a, b)
    try:
        return None if np.array_equal(x, y) else (path, a, b)
    except (TypeError, ValueError):
        return None if a == b else (path, a, b)


def _item(batch: Any, i: int) -> Any:
    """Element ``i`` of a batched observation (arrays, dicts and tuples of arrays)."""
    if isinstance(batch, dict):
        return {key: _item(value, i) for key, value in batch.items()}
    if isinstance(batch, tuple):
        return tuple(_item(value, i) for value in batch)
    return batch[i]


AUTORESET_HINT = ("env {env} was auto-reset without a seed just before: an env whose reset() without a seed does not "
                  "continue the random stream of reset(seed=...) reproducibly differs here")


class _Comparer:
    def __init__(self, atol: float, info_atol: float) -> None:
        self.atol, self.info_atol = atol, info_atol
        self.ends = self.terminations = 0

    def same(self, where: str, env: int, what: str, vec_value: Any, single_value: Any, atol: float | None = None,
             hint: str = "") -> None:
        atol = self.atol if atol is None else atol
        found = _difference(vec_value, single_value, atol)
        if found is not None:
            path, vec_part, single_part = found
            tolerance = f" (atol={atol:g})" if atol else ""
            note = f"\n  ({hint.format(env=env)})" if hint else ""
            raise VecEnvMismatchError(f"{where}, env {env}: {what}{path} differs{tolerance}: the VecEnv gives "
                                      f"{show(vec_part)}, the env stepped alone gives {show(single_part)}{note}")

    def infos(self, where: str, env: int, vec_info: dict, info: dict, keys: Sequence[str] | None) -> None:
        for key in info if keys is None else keys:
            if key not in info:
                continue
            if key not in vec_info:
                raise VecEnvMismatchError(f"{where}, env {env}: info key {key!r} is missing from the VecEnv's info "
                                          f"(it has {sorted(map(str, vec_info))})")
            self.same(where, env, f"info[{key!r}]", vec_info[key], info[key], self.info_atol)

    def episode_end(self, terminated: bool) -> None:
        self.ends += 1
        self.terminations += bool(terminated)


@dataclass
class _Single:
    """What env ``index`` stepped alone gave at one step; ``final``: the ended episode's last observation and info
    (when the VecEnv reports them in this step's info), ``reset``: this step's observation follows an unseeded reset."""

    index: int
    obs: Any
    flags: tuple[tuple[str, Any, Any], ...]  # (name, the VecEnv's value, the single env's): reward, dones
    info: dict
    vec_info: dict
    final: tuple[Any, dict] | None = None
    reset: bool = False


def _compare_step(cmp: _Comparer, where: str, batch_obs: Any, singles: list[_Single], final_key: str,
                  info_keys: Sequence[str] | None) -> None:
    """Compare one step field by field across the envs, observations first, then rewards and done flags, then
    infos: the first field that differs is named (a wrong observation, not the info value it led to)."""
    for s in singles:
        if s.final is not None:
            cmp.same(where, s.index, f"info[{final_key!r}]", s.vec_info.get(final_key), s.final[0])
    for s in singles:
        cmp.same(where, s.index, "observation", _item(batch_obs, s.index), s.obs, hint=AUTORESET_HINT if s.reset else "")
    for s in singles:
        for name, vec_value, single_value in s.flags:
            cmp.same(where, s.index, name, vec_value, single_value)
    for s in singles:
        if s.final is not None and final_key == "final_obs":
            cmp.infos(where, s.index, s.vec_info.get("final_info", {}), s.final[1], info_keys)
        cmp.infos(where, s.index, s.vec_info, s.info, info_keys)


def _is_gymnasium_vector(vec_env: Any) -> bool:
    from gymnasium.vector import VectorEnv

    return isinstance(vec_env, VectorEnv)


def _gymnasium_info(infos: dict, i: int) -> dict:
    """Env ``i``'s part of a Gymnasium vector info dict (keys whose ``_key`` mask is set for it)."""
    return {key: _item(value, i) for key, value in infos.items()
            if not key.startswith("_") and (f"_{key}" not in infos or bool(infos[f"_{key}"][i]))}


def _run_gymnasium(vec_env: Any, singles: list, seeds: Sequence[int], actions: Any, cmp: _Comparer,
                   info_keys: Sequence[str] | None) -> None:
    from gymnasium.vector import AutoresetMode
    from gymnasium.vector.utils import iterate

    mode = vec_env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        raise ValueError(f"autoreset mode {mode} is not supported; use next-step or same-step")
    for seed in seeds:
        obs, _ = vec_env.reset(seed=seed)
        for i, env in enumerate(singles):
            cmp.same(f"reset(seed={seed})", i, "observation", _item(obs, i), env.reset(seed=seed + i)[0])
        pending = [False] * len(singles)
        for t in range(actions.n_steps):
            batch = actions(t, obs)
            obs, rewards, terminations, truncations, infos = vec_env.step(batch)
            results = []
            for i, (env, action) in enumerate(zip(singles, iterate(vec_env.action_space, batch))):
                reset = pending[i]
                if reset:  # next-step mode: this step only resets env i
                    s_obs, info = env.reset()
                    s_reward, s_term, s_trunc, pending[i] = 0.0, False, False, False
                else:
                    s_obs, s_reward, s_term, s_trunc, info = env.step(action)
                final = None
                if s_term or s_trunc:
                    cmp.episode_end(s_term)
                    if mode == AutoresetMode.SAME_STEP:
                        final, reset = (s_obs, info), True
                        s_obs, info = env.reset()
                    else:
                        pending[i] = True
                flags = (("reward", rewards[i], s_reward), ("terminated", terminations[i], s_term),
                         ("truncated", truncations[i], s_trunc))
                results.append(_Single(i, s_obs, flags, info, _gymnasium_info(infos, i), final, reset))
            _compare_step(cmp, f"seed {seed}, step {t}", obs, results, "final_obs", info_keys)


def _run_sb3(vec_env: Any, singles: list, seeds: Sequence[int], actions: Any, cmp: _Comparer,
             info_keys: Sequence[str] | None) -> None:
    for seed in seeds:
        vec_env.seed(seed)
        obs = vec_env.reset()
        for i, env in enumerate(singles):
            cmp.same(f"reset(seed={seed})", i, "observation", _item(obs, i), env.reset(seed=seed + i)[0])
        for t in range(actions.n_steps):
            batch = actions(t, obs)
            where = f"seed {seed}, step {t}"
            obs, rewards, dones, infos = vec_env.step(batch)
            results = []
            for i, env in enumerate(singles):
                s_obs, s_reward, s_term, s_trunc, info = env.step(batch[i])
                flags: tuple[tuple[str, Any, Any], ...] = (("reward", rewards[i], s_reward), ("done", dones[i], s_term or s_trunc))
                final = None
                if s_term or s_trunc:
                    cmp.episode_end(s_term)
                    flags += (("info['TimeLimit.truncated']", infos[i].get("TimeLimit.truncated", False),
                               bool(s_trunc and not s_term)),)
                    final = (s_obs, info)
                    s_obs, _ = env.reset()
                results.append(_Single(i, s_obs, flags, info, infos[i], final, final is not None))
            _compare_step(cmp, where, obs, results, "terminal_observation", info_keys)


class _Actions:
    """The batch of actions for step ``t``: from a list, or from a vectorised policy of the batched observation."""

    def __init__(self, source: Any, n_envs: int, n_steps: int, vec_env: Any) -> None:
        if source is None:
            space = copy.deepcopy(getattr(vec_env, "single_action_space", None) or vec_env.action_space)
            space.seed(0)
            source = [np.stack([space.sample() for _ in range(n_envs)]) for _ in range(n_steps)]
        self.policy = source if callable(source) else None
        self.batches = None if callable(source) else [np.asarray(a) for a in source]
        self.n_steps = n_steps if callable(source) else len(self.batches)
        self.n_envs = n_envs
        for t, batch in enumerate(self.batches or []):
            self._check(t, batch)

    def _check(self, t: int, batch: Any) -> None:
        if len(batch) != self.n_envs:
            raise ValueError(f"actions[{t}] holds {len(batch)} actions, expected one per env ({self.n_envs})")

    def __call__(self, t: int, obs: Any) -> Any:
        if self.batches is not None:
            return self.batches[t]
        batch = np.asarray(self.policy(obs))
        self._check(t, batch)
        return batch


def assert_vecenv_matches(
    vec_env: Any,
    env_fns: Sequence[Callable[[], Any]],
    seeds: Sequence[int] = (0,),
    actions: Sequence[Any] | Callable[[Any], Any] | None = None,
    *,
    n_steps: int = 20,
    atol: float = 0.0,
    info_atol: float | None = None,
    info_keys: Sequence[str] | None = None,
) -> VecEnvReport:
    """Assert ``vec_env`` gives the observations, rewards, dones and infos of ``env_fns``' envs stepped one by one.

    For each seed ``s`` the VecEnv is reset with ``s`` and env ``i`` with ``s + i`` (the convention of both
    Gymnasium and stable-baselines3); then the batches of ``actions`` are stepped: a list of arrays of
    shape (n_envs, ...), or a vectorised policy ``actions(batched_obs)`` called ``n_steps`` times
    (default: ``n_steps`` batches sampled with seed 0). Auto-resets are followed: env ``i`` is reset
    without a seed when its episode ends, and the VecEnv's terminal observation is checked. Info keys
    compared: ``info_keys``, or every key the single env reports. Observations and rewards may differ by
    ``atol``, info values by ``info_atol`` (default ``atol``). The envs made from ``env_fns`` are closed;
    ``vec_env`` is not. Raises :class:`VecEnvMismatchError`.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    n_envs = int(getattr(vec_env, "num_envs", len(env_fns)))
    if len(env_fns) != n_envs:
        raise ValueError(f"the VecEnv has {n_envs} envs but {len(env_fns)} env_fns were given")
    batches = _Actions(actions, n_envs, n_steps, vec_env)
    cmp = _Comparer(atol, atol if info_atol is None else info_atol)
    gymnasium_api = _is_gymnasium_vector(vec_env)
    singles: list = []
    try:
        singles = [fn() for fn in env_fns]
        run = _run_gymnasium if gymnasium_api else _run_sb3
        run(vec_env, singles, list(seeds), batches, cmp, info_keys)
    finally:
        for env in singles:
            env.close()
    return VecEnvReport("Gymnasium" if gymnasium_api else "SB3", n_envs, tuple(int(s) for s in seeds), batches.n_steps,
                        cmp.ends, cmp.terminations)
