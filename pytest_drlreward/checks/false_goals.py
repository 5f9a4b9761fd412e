"""False goals found by the search, each reproducible: reset seed, actions (or placed state), goal
probability, truth and every named input of the state; :func:`find_false_goals` runs the search,
:func:`seek_goals` its goal-seeking twin (states to judge recall on), :func:`collect_searches` both as
the suite runs them, :func:`save_false_goals` writes
them to a directory.

The saved format (what a replay reads), one directory per search:

- ``false_goals.json``: ``decider``, ``search`` (what was searched), ``truth_key``, ``purpose``,
  ``false_goals`` and ``non_goal_states`` (the counts), ``input_names`` and ``cases``, most confident
  first. Each case: ``seed`` (``env.reset(seed=seed)``), ``actions`` (the list of actions to ``step``
  in order; the state is the one after the last) or ``state`` (``env.unwrapped.drl_place(state)``
  after the reset; ``actions`` is then null), ``goal_probability`` (the decider's; for a ``score``
  rule the score), ``truth`` (bool), ``truth_value`` (the number ``info[truth_key]`` held), ``where``
  (the same in words), ``inputs`` (the ``.npz`` file) and, for a one-array state, ``image`` (``.npy``)
  and, when asked for, ``png``.
- ``false_goal_K.npz``: every named input of case K's state, one item each (no batch axis), under
  the model's input names (one unnamed array: ``images``): ``backend.logits({name: a[None] ...})``
  gives the decider's output on it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import backend_name
from pytest_drlreward.checks.goalscore import goal_scores
from pytest_drlreward.checks.search import FALSE_GOALS, GOALS, SearchRollout, search_states
from pytest_drlreward.checks.stats import Proportion
from pytest_drlreward.util.atomic import atomic_directory

FALSE_GOALS_FILE = "false_goals.json"


@dataclass(frozen=True)
class FalseGoal:
    """One state the reward calls goal while the truth says no, and how to reach it again."""

    seed: int
    actions: np.ndarray | None
    state: np.ndarray | None
    probability: float
    truth: bool
    inputs: dict[str, np.ndarray]
    where: str
    truth_value: float | None = None

    @property
    def image(self) -> Any:
        """The state's one input array, or the dict of its named inputs when the model takes several."""
        return next(iter(self.inputs.values())) if len(self.inputs) == 1 else self.inputs

    def __str__(self) -> str:
        return f"false goal at {self.where}: goal probability {self.probability:.3f}"

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "actions": None if self.actions is None else self.actions.tolist(),
                "state": None if self.state is None else np.asarray(self.state).tolist(),
                "goal_probability": self.probability, "truth": self.truth, "truth_value": self.truth_value,
                "where": self.where}


@dataclass(frozen=True)
class FalseGoalSearch:
    """What a false-goal search found for ``decider``, most confident first."""

    states: SearchRollout
    decider: str
    false_goals: tuple[FalseGoal, ...]

    @property
    def rate(self) -> Proportion:
        """False goals among the non-goal states visited."""
        return Proportion(len(self.false_goals), int(np.sum(~self.states.truth)))

    def __str__(self) -> str:
        top = f"; most confident: {self.false_goals[0]}" if self.false_goals else ""
        return (f"{self.decider} on {self.states.describe()}: {self.rate.successes} false goals in {self.rate.trials} "
                f"non-goal states ({self.rate.text(percent=True)}){top}")


def false_goals_in(states: SearchRollout, backend: Any = None, batch_size: int | None = None, *,
                   scores: tuple[np.ndarray, np.ndarray] | None = None, decider: str | None = None) -> FalseGoalSearch:
    """The false goals among ``states`` as judged by ``backend``, or by ``scores`` (decisions, probabilities)
    already computed, or else by the guide's own decisions; most confident first."""
    if scores is not None:
        (goal, probability), decider = scores, decider or "given scores"
    elif backend is None:
        goal, probability, decider = states.decisions, states.probabilities, "search guide"
    else:
        (goal, probability), decider = goal_scores(backend, states.images, batch_size), backend_name(backend)
    wrong = np.flatnonzero(goal & ~states.truth)
    wrong = wrong[np.argsort(-probability[wrong], kind="stable")]
    found = []
    values = states.truth_values
    for index in wrong:
        seed, actions, state = states.replay(int(index))
        found.append(FalseGoal(seed, actions, state, float(probability[index]), bool(states.truth[index]),
                               states.inputs_at(int(index)), states.where(int(index)),
                               None if values is None else float(values[index])))
    return FalseGoalSearch(states, decider, tuple(found))


def find_false_goals(env: Any, backend: Any, **search: Any) -> FalseGoalSearch:
    """Search ``env`` for states ``backend`` calls goal while ``info[truth_key]`` is false; ``search`` are the
    keywords of :func:`~pytest_drlreward.checks.search.search_states` (``budget`` in env steps, ``seed``,
    ``truth_key``, ``method``, ``horizon``, ``use_hook``, ...). No assertion: the report lists what it found."""
    return false_goals_in(search_states(env, backend, **search, purpose=FALSE_GOALS))


def seek_goals(env: Any, backend: Any, **search: Any) -> SearchRollout:
    """Goal-seeking probes (toward ``info[truth_key]``, closing ``info[distance_key]`` when given, else toward
    states ``backend`` calls goal): the states to judge recall on. ``search``: as :func:`find_false_goals`."""
    return search_states(env, backend, **search, purpose=GOALS)


def collect_searches(env: Any, guide: Any, search_steps: int, *, seed: int = 0, truth_key: str = "true_goal",
                     method: str = "auto", distance_key: str | None = None, inputs: Any = None,
                     input_keys: dict[str, str] | None = None, truth_below: float | None = None) -> tuple[Any, ...]:
    """The suite's two searches in ``search_steps`` env steps: a quarter for false goals, the rest for goals
    (the goal search passes through the states next to the goal, where false goals are, too); the goal search
    runs first and the false-goal search starts from its best probes (CMA-ES). ``inputs``,
    ``input_keys``, ``truth_below``: as :func:`~pytest_drlreward.checks.search.search_states` (every named
    input of a state is kept; a dense truth is cut at ``truth_below``)."""
    if search_steps < 4:
        return ()
    quarter = search_steps // 4
    shared = {"seed": seed, "truth_key": truth_key, "method": method, "inputs": inputs, "input_keys": input_keys,
              "truth_below": truth_below}
    goals = search_states(env, guide, budget=search_steps - quarter, purpose=GOALS, distance_key=distance_key, **shared)
    # false goals lie next to the goal: the false-goal search starts from the goal search's best probes
    return search_states(env, guide, budget=quarter, purpose=FALSE_GOALS, starts=goals.best_probes, **shared), goals


def _png(path: Path, image: np.ndarray) -> bool:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:  # not an RGB image
        return False
    try:
        from matplotlib import image as mpimage
    except ImportError:
        return False
    mpimage.imsave(path, image)
    return True


def save_false_goals(search: FalseGoalSearch, directory: str | Path, limit: int = 20, png: bool = False) -> Path:
    """Write the ``limit`` most confident false goals to ``directory`` (replaced as a whole) in the format of
    this module's docstring: every named input as ``false_goal_K.npz`` (a one-array state also as ``.npy``
    and, with ``png``, matplotlib and an RGB image, ``.png``) and ``false_goals.json`` with seed, actions,
    goal probability and truth."""
    with atomic_directory(directory, overwrite=True) as tmp:
        rows = []
        for k, case in enumerate(search.false_goals[:limit]):
            np.savez(tmp / f"false_goal_{k}.npz", **case.inputs)
            row = case.as_dict()
            row["inputs"] = f"false_goal_{k}.npz"
            if len(case.inputs) == 1:
                np.save(tmp / f"false_goal_{k}.npy", case.image)
                row["image"] = f"false_goal_{k}.npy"
                if png and _png(tmp / f"false_goal_{k}.png", case.image):
                    row["png"] = f"false_goal_{k}.png"
            rows.append(row)
        states = search.states
        summary = {"decider": search.decider, "search": states.describe(), "truth_key": states.truth_key,
                   "purpose": states.purpose, "false_goals": search.rate.successes, "non_goal_states": search.rate.trials,
                   "input_names": list(search.false_goals[0].inputs) if search.false_goals else list(states.input_names),
                   "cases": rows}
        (tmp / FALSE_GOALS_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return Path(directory)
