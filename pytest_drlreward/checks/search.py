"""A budgeted search for the states an agent would find: where the learned reward says goal and the
truth says no (:func:`find_false_goals`), and goal states to judge recall on (:func:`seek_goals`).

An RL agent optimises the learned reward, so it goes where the classifier is wrong in its favour;
random rollouts rarely go there. The search tries probes, each ``reset(seed=s)`` then up to
``horizon`` actions (``knots`` actions, each held for an equal share of the horizon: a vector in
[-1, 1]^(knots x action dims) mapped onto the Box action space; few numbers, so the optimiser learns fast),
scores every state it visits with the guide backend's goal probability, and lets an optimiser
(:mod:`~pytest_drlreward.checks.search_methods`) steer toward high-probability non-goal states (false
goals) or toward goal states (recall). It needs only ``reset(seed=...)`` and ``step()``.

Optional env hook, to place the state faster: when ``env.unwrapped`` has ``drl_state_space`` (a
Gymnasium ``Box``) and ``drl_place(state) -> info`` (put the env in that state after a reset and
return the step info with the truth key), a probe is ``reset(seed=s)`` then one ``drl_place(state)``:
one env step of budget each, and the optimiser searches the state space directly.

Every visited state is kept (a :class:`SearchRollout`, a :class:`~pytest_drlreward.checks.rollout.Rollout`
with the probes), so each backend is judged on the same states and each state can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import show
from pytest_drlreward.checks.goalscore import goal_scores
from pytest_drlreward.checks.rollout import Rollout, RolloutError, env_image, truth_value
from pytest_drlreward.checks.search_methods import RESTARTS, run_method
from pytest_drlreward.defaults import DEFAULT_SEARCH_STEPS
from pytest_drlreward.validation import check_int

DEFAULT_HORIZON = 10  # actions a probe takes at most
DEFAULT_KNOTS = 1  # a probe holds this many actions, each for an equal share of the horizon (1: a straight line)
FALSE_GOALS, GOALS = "false goals", "goals"


@dataclass(frozen=True)
class Probe:
    """One thing the search tried: ``reset(seed=seed)``, then ``actions`` stepped or ``state`` placed."""

    seed: int
    actions: np.ndarray | None = None
    state: np.ndarray | None = None

    def replay_text(self, steps: int | None = None) -> str:
        """How to reach the state after ``steps`` actions (all when None) again."""
        if self.state is not None:
            return f"reset(seed={self.seed}) then drl_place({show(np.asarray(self.state))})"
        actions = self.actions if steps is None else self.actions[:steps]
        return f"reset(seed={self.seed}) then step {len(actions)} actions {np.array2string(actions, precision=4, separator=', ')}"


@dataclass(frozen=True)
class SearchRollout(Rollout):
    """The states a search visited. ``episode_seeds``/``episode_steps``: each state's reset seed and step
    in its probe; ``probe_index``: which of ``probes`` reached it; ``probabilities``: the guide's."""

    probes: tuple[Probe, ...] = ()
    probe_index: np.ndarray | None = None
    purpose: str = FALSE_GOALS
    method: str = ""
    budget: int = 0

    def where(self, index: int) -> str:
        probe = self.probes[int(self.probe_index[index])]
        return f"search probe {int(self.probe_index[index])}: {probe.replay_text(int(self.episode_steps[index]) + 1)}"

    def replay(self, index: int) -> tuple[int, np.ndarray | None, np.ndarray | None]:
        """``(seed, actions up to and including the state's, placed state)`` of state ``index``."""
        probe = self.probes[int(self.probe_index[index])]
        steps = int(self.episode_steps[index]) + 1
        return probe.seed, None if probe.actions is None else probe.actions[:steps], probe.state

    def describe(self) -> str:
        return f"{len(self)} states of a {self.method} search for {self.purpose} ({self.budget} steps, seed {self.seed})"


class SearchSpaceError(RolloutError):
    """The env's action space (or ``drl_state_space``) is not a bounded Box the search can steer in."""


def has_place_hook(env: Any) -> bool:
    """Whether ``env.unwrapped`` offers the optional ``drl_state_space`` + ``drl_place(state)`` hook."""
    unwrapped = env.unwrapped
    return callable(getattr(unwrapped, "drl_place", None)) and getattr(unwrapped, "drl_state_space", None) is not None


def _box(space: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    if low is None or high is None or not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise SearchSpaceError(f"the search needs a bounded Box {what}, got {space!r}")
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def _scale(u: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return low + (np.clip(u.reshape(-1, *low.shape), -1.0, 1.0) + 1.0) / 2.0 * (high - low)


class _Prober:
    """Runs probes within a budget of env steps and keeps every state they visit."""

    def __init__(self, env: Any, guide: Any, truth_key: str, budget: int, seed: int, horizon: int, knots: int, purpose: str,
                 distance_key: str | None, use_hook: bool, batch_size: int | None) -> None:
        self.env, self.guide, self.truth_key, self.budget, self.seed = env, guide, truth_key, budget, seed
        self.purpose, self.distance_key, self.batch_size = purpose, distance_key, batch_size
        self.hook = use_hook and has_place_hook(env)
        space = env.unwrapped.drl_state_space if self.hook else env.action_space
        self.low, self.high = _box(space, "state space (drl_state_space)" if self.hook else "action space")
        self.dtype = getattr(space, "dtype", np.float32)
        self.horizon = 1 if self.hook else int(horizon)
        self.knots = 1 if self.hook else max(1, min(int(knots), self.horizon))
        self.dim = self.low.size * self.knots
        self.steps = 0
        self.probes: list[Probe] = []
        self.images: list[np.ndarray] = []
        self.columns: dict[str, list] = {"truth": [], "p": [], "goal": [], "seed": [], "step": [], "probe": []}

    def spent(self) -> float:
        return self.steps / self.budget

    def _info_truth(self, info: dict, where: str) -> tuple[bool, float | None]:
        if self.truth_key not in info:
            raise RolloutError(f"{where}: info has no {self.truth_key!r} (drl_truth_key); it has {sorted(map(str, info))}")
        distance = None
        if self.distance_key is not None:
            distance = float(info[self.distance_key])
        return truth_value(info[self.truth_key], self.truth_key, where), distance

    def evaluate(self, restart: int, u: np.ndarray) -> float:
        seed = self.seed + restart
        values = _scale(u, self.low, self.high).astype(self.dtype)
        if not self.hook:  # knot k is held for steps t with t * knots // horizon == k
            values = values[np.arange(self.horizon) * self.knots // self.horizon]
        self.env.reset(seed=seed)
        probe = Probe(seed, state=values[0]) if self.hook else Probe(seed, actions=values)
        where = f"search probe {len(self.probes)} ({probe.replay_text()})"
        truths, distances, images = [], [], []
        if self.hook:
            info = self.env.unwrapped.drl_place(values[0])
            self.steps += 1
            truth, distance = self._info_truth(info, where)
            truths.append(truth), distances.append(distance), images.append(env_image(self.env))
        else:
            for action in values:
                _, _, terminated, truncated, info = self.env.step(action)
                self.steps += 1
                truth, distance = self._info_truth(info, where)
                truths.append(truth), distances.append(distance), images.append(env_image(self.env))
                if terminated or truncated or self.steps >= self.budget:
                    break
        goal, p = goal_scores(self.guide, np.stack(images), self.batch_size)
        index = len(self.probes)
        self.probes.append(probe)
        self.images += images
        for step, (t, g, q) in enumerate(zip(truths, goal, p)):
            for key, value in zip(("truth", "p", "goal", "seed", "step", "probe"), (t, q, g, seed, step, index)):
                self.columns[key].append(value)
        truth = np.asarray(truths, dtype=bool)
        if self.purpose == FALSE_GOALS:  # the most goal-like state the truth rejects
            return float(p[~truth].max()) if np.any(~truth) else -1.0
        if self.distance_key is not None:  # a dense truth: as close as possible, more goal steps better
            return float(truth.mean() - min(distances))
        return float(np.max(truth + p))  # any goal state beats every non-goal; else as goal-like as possible

    def result(self, method: str) -> SearchRollout:
        if not self.images:
            raise RolloutError(f"the search had a budget of {self.budget} env steps and visited no state")
        column = self.columns
        return SearchRollout(
            images=np.stack(self.images), truth=np.asarray(column["truth"], dtype=bool),
            decisions=np.asarray(column["goal"], dtype=bool),
            probabilities=np.asarray(column["p"], dtype=np.float64),
            episode_seeds=np.asarray(column["seed"], dtype=np.int64), episode_steps=np.asarray(column["step"], dtype=np.int64),
            truth_key=self.truth_key, seed=self.seed, policy=f"{method} search", probes=tuple(self.probes),
            probe_index=np.asarray(column["probe"], dtype=np.int64), purpose=self.purpose, method=method, budget=self.budget)


def search_states(
    env: Any,
    guide: Any,
    *,
    budget: int = DEFAULT_SEARCH_STEPS // 2,
    purpose: str = FALSE_GOALS,
    seed: int = 0,
    truth_key: str = "true_goal",
    method: str = "auto",
    horizon: int = DEFAULT_HORIZON,
    knots: int = DEFAULT_KNOTS,
    restarts: int = RESTARTS,
    distance_key: str | None = None,
    use_hook: bool = True,
    batch_size: int | None = None,
) -> SearchRollout:
    """Search ``env`` for ``budget`` env steps, steered by ``guide``'s goal probability; every visited state.

    ``purpose``: ``"false goals"`` (the most goal-like states whose truth is no) or ``"goals"`` (true goal
    states; with ``distance_key``, an info key holding a distance to the goal, the search closes it).
    Probe ``k`` of restart ``r`` resets with ``seed + r``; ``method``: ``auto``, ``cma`` or ``hypothesis``.
    """
    check_int(budget, "budget (env steps)")
    if purpose not in (FALSE_GOALS, GOALS):
        raise ValueError(f"purpose must be {FALSE_GOALS!r} or {GOALS!r}, got {purpose!r}")
    prober = _Prober(env, guide, truth_key, int(budget), int(seed), horizon, knots, purpose, distance_key, use_hook, batch_size)
    used = run_method(method, prober.evaluate, prober.dim, prober.spent, int(seed), restarts,
                      probes=max(1, budget // prober.horizon))
    return prober.result(used)
