"""A budgeted search for the states an agent would find: where the learned reward says goal and the
truth says no (:func:`find_false_goals`), and goal states to judge recall on (:func:`seek_goals`).

An RL agent optimises the learned reward, so it goes where the classifier is wrong in its favour;
random rollouts rarely go there. The search tries probes, each ``reset(seed=s)`` then up to
``horizon`` actions (``knots`` actions, each held for an equal share of the horizon: a vector in
[-1, 1]^(knots x action dims) mapped onto the Box action space; few numbers, so the optimiser learns fast),
scores every state it visits with the guide backend's goal probability, and lets an optimiser
(:mod:`~pytest_drlreward.checks.search_methods`) steer toward high-probability non-goal states (false
goals) or toward goal states (recall). It needs only ``reset(seed=...)`` and ``step()``.

Every shape of reward: a state keeps every named input of its step, found as the rollout finds them
(:func:`~pytest_drlreward.env.inputs.env_inputs`: ``camera_image()``, ``camera_images()``, the keys of
a Dict observation, ``render()``; ``input_keys`` maps names to env keys), so a two-camera model, a frame
stack the env supplies (an input with a time axis, e.g. a Dict observation's stacked frames) and a Dict
observation are searched like one image; a state's inputs are one array (one-input model) or a dict
name -> array. A dense ``score`` rule steers by its score (mapped monotonically into (0, 1)); a dense
truth (``truth_below``: ``info[truth_key]`` a number) counts a state as goal when its truth is above
that level, so a false goal is a high score where the truth is low.

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
from pytest_drlreward.checks.rollout import Rollout, RolloutError, dense_truth_value, env_image, truth_value
from pytest_drlreward.checks.search_methods import RESTARTS, run_method
from pytest_drlreward.classifier.decision import rule_of
from pytest_drlreward.defaults import DEFAULT_SEARCH_STEPS
from pytest_drlreward.env.inputs import stack_inputs
from pytest_drlreward.util.validation import check_int

DEFAULT_HORIZON = 10  # actions a probe takes at most
DEFAULT_KNOTS = 1  # a probe holds this many actions, each for an equal share of the horizon (1: a straight line)
FALSE_GOALS, GOALS = "false goals", "goals"


def _runs(actions: np.ndarray) -> str:
    """Actions on one line, each run of equal actions as ``N x [a, b]``: ``[3 x [0.5, -0.1], 2 x [0.2, 0.3]]``."""
    parts, start = [], 0
    for end in range(1, len(actions) + 1):
        if end == len(actions) or not np.array_equal(actions[end], actions[start]):
            text = np.array2string(actions[start], precision=4, separator=", ", max_line_width=10**6)
            parts.append(text if end - start == 1 else f"{end - start} x {text}")
            start = end
    return "[" + ", ".join(parts) + "]"


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
        return f"reset(seed={self.seed}) then step {len(actions)} actions {_runs(np.asarray(actions))}"


@dataclass(frozen=True)
class SearchRollout(Rollout):
    """The states a search visited. ``episode_seeds``/``episode_steps``: each state's reset seed and step
    in its probe; ``probe_index``: which of ``probes`` reached it; ``probabilities``: the guide's;
    ``images``: each state's inputs (one array, or a dict name -> array for several named inputs);
    ``input_names``: the model's input names (empty for a guide without ``inputs``)."""

    probes: tuple[Probe, ...] = ()
    probe_index: np.ndarray | None = None
    purpose: str = FALSE_GOALS
    method: str = ""
    budget: int = 0
    input_names: tuple[str, ...] = ()
    best_probes: tuple[np.ndarray | None, ...] = ()  # per restart, the optimiser's vector of its best probe

    def inputs_at(self, index: int) -> dict[str, np.ndarray]:
        """Every named input of state ``index`` (one item, no batch axis); one array is named by its input
        (``images`` when the guide named none)."""
        if isinstance(self.images, dict):
            return {name: np.asarray(value[index]) for name, value in self.images.items()}
        return {self.input_names[0] if self.input_names else "images": np.asarray(self.images[index])}

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


class PlaceHookError(RolloutError):
    """The env's ``drl_place(state)`` hook raised or returned something other than a step's info dict."""


def place(env: Any, state: np.ndarray, where: str) -> dict:
    """``env.unwrapped.drl_place(state)``: the info dict it returns; :class:`PlaceHookError` naming the fix otherwise."""
    try:
        info = env.unwrapped.drl_place(state)
    except Exception as error:  # the user's hook: whatever it raises is a setup mistake, reported once
        raise PlaceHookError(f"{where}: {type(env.unwrapped).__name__}.drl_place raised "
                             f"{type(error).__name__}: {error}; it must accept any state drawn from drl_state_space") from error
    if not isinstance(info, dict):
        raise PlaceHookError(f"{where}: {type(env.unwrapped).__name__}.drl_place returned "
                             f"{type(info).__name__}, not a dict; return the info a step would (with the truth key)")
    return info


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
                 distance_key: str | None, use_hook: bool, batch_size: int | None, inputs: Any = None,
                 input_keys: dict[str, str] | None = None, truth_below: float | None = None) -> None:
        self.env, self.guide, self.truth_key, self.budget, self.seed = env, guide, truth_key, budget, seed
        self.purpose, self.distance_key, self.batch_size = purpose, distance_key, batch_size
        self.specs = tuple(inputs if inputs is not None else getattr(guide, "inputs", None) or ())
        self.input_keys, self.truth_below = input_keys, truth_below
        self.probability = rule_of(guide).is_probability  # else a score, steered through a monotone squash
        self.hook = use_hook and has_place_hook(env)
        space = env.unwrapped.drl_state_space if self.hook else env.action_space
        self.low, self.high = _box(space, "state space (drl_state_space)" if self.hook else "action space")
        self.dtype = getattr(space, "dtype", np.float32)
        self.horizon = 1 if self.hook else int(horizon)
        self.knots = 1 if self.hook else max(1, min(int(knots), self.horizon))
        self.dim = self.low.size * self.knots
        self.steps = 0
        self.best: dict[int, tuple[float, np.ndarray]] = {}  # restart -> (best score, its u)
        self.probes: list[Probe] = []
        self.images: list[Any] = []
        self.columns: dict[str, list] = {"truth": [], "value": [], "p": [], "goal": [], "seed": [], "step": [],
                                         "probe": []}

    def spent(self) -> float:
        return self.steps / self.budget

    def _info_truth(self, info: dict, where: str) -> tuple[bool, float, float | None]:
        """(goal by the truth, the truth's value, the distance to the goal or None)."""
        if self.truth_key not in info:
            raise RolloutError(f"{where}: info has no {self.truth_key!r} (drl_truth_key); it has {sorted(map(str, info))}")
        distance = None
        if self.distance_key is not None:
            distance = float(info[self.distance_key])
        if self.truth_below is not None:  # a dense truth: goal-like above the level
            value = dense_truth_value(info[self.truth_key], self.truth_key, where)
            return value > self.truth_below, value, distance
        truth = truth_value(info[self.truth_key], self.truth_key, where)
        return truth, float(truth), distance

    def _inputs(self, obs: Any) -> Any:
        """The model's inputs for the env's current state (every named input), as the rollout finds them."""
        if not self.specs:
            return env_image(self.env)
        from pytest_drlreward.env.inputs import env_inputs

        return env_inputs(self.env, self.specs, obs=obs, input_keys=self.input_keys)

    def _steer(self, p: np.ndarray) -> np.ndarray:
        """The guide's goal probability, or a score squashed monotonically into (0, 1)."""
        return p if self.probability else 0.5 + np.arctan(p) / np.pi

    def evaluate(self, restart: int, u: np.ndarray) -> float:
        seed = self.seed + restart
        values = _scale(u, self.low, self.high).astype(self.dtype)
        if not self.hook:  # knot k is held for steps t with t * knots // horizon == k
            values = values[np.arange(self.horizon) * self.knots // self.horizon]
        self.env.reset(seed=seed)
        probe = Probe(seed, state=values[0]) if self.hook else Probe(seed, actions=values)
        where = f"search probe {len(self.probes)} ({probe.replay_text()})"
        seen: list[tuple[bool, float, float | None]] = []
        states: list[Any] = []
        if self.hook:  # no observation after a placement: the inputs come from the env's cameras
            info = place(self.env, values[0], where)
            self.steps += 1
            seen.append(self._info_truth(info, where)), states.append(self._inputs(None))
        else:
            for action in values:
                obs, _, terminated, truncated, info = self.env.step(action)
                self.steps += 1
                seen.append(self._info_truth(info, where)), states.append(self._inputs(obs))
                if terminated or truncated or self.steps >= self.budget:
                    break
        goal, p = goal_scores(self.guide, stack_inputs(states), self.batch_size)
        index = len(self.probes)
        self.probes.append(probe)
        self.images += states
        for step, ((t, v, _), g, q) in enumerate(zip(seen, goal, p)):
            for key, value in zip(("truth", "value", "p", "goal", "seed", "step", "probe"), (t, v, q, g, seed, step, index)):
                self.columns[key].append(value)
        score = self._objective(np.asarray([t for t, _, _ in seen], dtype=bool), goal, self._steer(p),
                                [d for _, _, d in seen])
        if score > self.best.get(restart, (-np.inf, None))[0]:
            self.best[restart] = (score, np.asarray(u, dtype=np.float64).copy())
        return score

    def _objective(self, truth: np.ndarray, goal: np.ndarray, steer: np.ndarray, distances: list) -> float:
        if self.purpose == FALSE_GOALS:  # the most goal-like state the truth rejects; more of them better
            return float(steer[~truth].max() + np.sum(goal & ~truth) / self.horizon) if np.any(~truth) else -1.0
        if self.distance_key is not None:  # a dense truth: as close as possible, more goal steps better
            return float(truth.mean() - min(distances))
        return float(np.max(truth + steer))  # any goal state beats every non-goal; else as goal-like as possible

    def result(self, method: str) -> SearchRollout:
        if not self.images:
            raise RolloutError(f"the search had a budget of {self.budget} env steps and visited no state")
        column = self.columns
        return SearchRollout(
            images=stack_inputs(self.images), truth=np.asarray(column["truth"], dtype=bool),
            decisions=np.asarray(column["goal"], dtype=bool),
            probabilities=np.asarray(column["p"], dtype=np.float64),
            episode_seeds=np.asarray(column["seed"], dtype=np.int64), episode_steps=np.asarray(column["step"], dtype=np.int64),
            truth_key=self.truth_key, seed=self.seed, policy=f"{method} search", probes=tuple(self.probes),
            probe_index=np.asarray(column["probe"], dtype=np.int64), purpose=self.purpose, method=method, budget=self.budget,
            truth_values=np.asarray(column["value"], dtype=np.float64), input_names=tuple(s.name for s in self.specs),
            best_probes=tuple(self.best[k][1] if k in self.best else None for k in range(max(self.best, default=-1) + 1)))


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
    inputs: Any = None,
    input_keys: dict[str, str] | None = None,
    truth_below: float | None = None,
    starts: Any = (),
) -> SearchRollout:
    """Search ``env`` for ``budget`` env steps, steered by ``guide``'s goal probability; every visited state.

    ``purpose``: ``"false goals"`` (the most goal-like states whose truth is no) or ``"goals"`` (true goal
    states; with ``distance_key``, an info key holding a distance to the goal, the search closes it).
    Probe ``k`` of restart ``r`` resets with ``seed + r``; ``method``: ``auto``, ``cma`` or ``hypothesis``.
    ``inputs``: the classifier's input specs (default the guide's ``inputs``; none: the camera image),
    found in the env as ``input_keys`` says. ``truth_below``: a dense truth (a number); a state is a goal
    by the truth when its value is above this level (``truth_values`` keeps the numbers). ``starts``: per
    restart, where CMA-ES starts (e.g. another search's ``best_probes``; same horizon and knots).
    """
    check_int(budget, "budget (env steps)")
    if purpose not in (FALSE_GOALS, GOALS):
        raise ValueError(f"purpose must be {FALSE_GOALS!r} or {GOALS!r}, got {purpose!r}")
    prober = _Prober(env, guide, truth_key, int(budget), int(seed), horizon, knots, purpose, distance_key, use_hook,
                     batch_size, inputs, input_keys, truth_below)
    used = run_method(method, prober.evaluate, prober.dim, prober.spent, int(seed), restarts,
                      probes=max(1, budget // prober.horizon), starts=tuple(starts))
    return prober.result(used)
