"""False goals found by the search, each reproducible: reset seed, actions (or placed state), goal
probability, truth and image; :func:`find_false_goals` runs the search, :func:`seek_goals` its
goal-seeking twin (states to judge recall on), :func:`save_false_goals` writes them to a directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.atomic import atomic_directory
from pytest_drlreward.checks._format import backend_name
from pytest_drlreward.checks.goalscore import goal_scores
from pytest_drlreward.checks.search import FALSE_GOALS, GOALS, SearchRollout, search_states
from pytest_drlreward.checks.stats import Proportion

FALSE_GOALS_FILE = "false_goals.json"


@dataclass(frozen=True)
class FalseGoal:
    """One state the reward calls goal while the truth says no, and how to reach it again."""

    seed: int
    actions: np.ndarray | None
    state: np.ndarray | None
    probability: float
    truth: bool
    image: np.ndarray
    where: str

    def __str__(self) -> str:
        return f"false goal at {self.where}: goal probability {self.probability:.3f}"

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "actions": None if self.actions is None else self.actions.tolist(),
                "state": None if self.state is None else np.asarray(self.state).tolist(),
                "goal_probability": self.probability, "truth": self.truth, "where": self.where}


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
    for index in wrong:
        seed, actions, state = states.replay(int(index))
        found.append(FalseGoal(seed, actions, state, float(probability[index]), bool(states.truth[index]),
                               states.images[index], states.where(int(index))))
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


def _png(path: Path, image: np.ndarray) -> bool:
    try:
        from matplotlib import image as mpimage
    except ImportError:
        return False
    mpimage.imsave(path, image)
    return True


def save_false_goals(search: FalseGoalSearch, directory: str | Path, limit: int = 20, png: bool = False) -> Path:
    """Write the ``limit`` most confident false goals to ``directory`` (replaced as a whole): each image as
    ``false_goal_K.npy`` (and, with ``png`` and matplotlib, ``.png``) and ``false_goals.json`` with seed,
    actions, goal probability and truth."""
    with atomic_directory(directory, overwrite=True) as tmp:
        rows = []
        for k, case in enumerate(search.false_goals[:limit]):
            np.save(tmp / f"false_goal_{k}.npy", case.image)
            row = case.as_dict()
            row["image"] = f"false_goal_{k}.npy"
            if png and _png(tmp / f"false_goal_{k}.png", case.image):
                row["png"] = f"false_goal_{k}.png"
            rows.append(row)
        summary = {"decider": search.decider, "search": search.states.describe(), "false_goals": search.rate.successes,
                   "non_goal_states": search.rate.trials, "cases": rows}
        (tmp / FALSE_GOALS_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return Path(directory)
