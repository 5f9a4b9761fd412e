"""The one decision rule of a classifier directory: what its output means, and when it says "goal".

Every consumer (the backends' ``predict_goal`` / ``goal_probability``, decision parity, labelled
accuracy, reward fidelity, an env's judge, a batched VecEnv) asks the directory's :class:`DecisionRule`
and nowhere else. The rules (``decision.kind`` in ``metadata.json``):

- ``argmax``: K >= 2 logits (N, K); goal when column ``goal_index`` is the largest. Probability: the
  softmax of that column.
- ``sigmoid``: one logit, (N,) or (N, 1); goal when ``sigmoid(logit) > threshold`` (threshold in
  (0, 1)). Probability: ``sigmoid(logit)``.
- ``softmax``: K >= 2 logits; goal when the softmax of column ``goal_index`` is ``> threshold``.
  Probability: that softmax.
- ``score``: a dense reward (N,) or (N, 1), not a probability. ``goal_probability`` returns the score
  itself (the reward value); with a ``threshold`` it is also a goal decision (``score > threshold``),
  without one ``predict_goal`` raises ``ValueError``.

Only numpy is imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

ARGMAX, SIGMOID, SOFTMAX, SCORE = "argmax", "sigmoid", "softmax", "score"
KINDS = (ARGMAX, SIGMOID, SOFTMAX, SCORE)


class DecisionError(ValueError):
    """A decision rule that cannot be built, or outputs that do not fit the rule."""


def _softmax_column(outputs: np.ndarray, column: int) -> np.ndarray:
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted[:, column] / shifted.sum(axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    z = np.exp(x[~positive])
    out[~positive] = z / (1.0 + z)
    return out


@dataclass(frozen=True)
class DecisionRule:
    """What a model's output means: ``kind`` (argmax, sigmoid, softmax, score), ``goal_index`` (the goal
    column for argmax/softmax, else None), ``threshold`` (sigmoid/softmax: required; score: optional),
    ``n_outputs`` (values per row: K for argmax/softmax, 1 for sigmoid/score)."""

    kind: str
    goal_index: int | None = None
    threshold: float | None = None
    n_outputs: int = 2

    def __post_init__(self) -> None:
        problem = rule_problem(self.kind, self.goal_index, self.threshold, self.n_outputs)
        if problem:
            raise DecisionError(problem)

    @classmethod
    def argmax(cls, goal_index: int = 1, n_classes: int = 2) -> DecisionRule:
        return cls(ARGMAX, goal_index=goal_index, n_outputs=n_classes)

    @classmethod
    def from_metadata(cls, decision: Any, n_outputs: int) -> DecisionRule:
        """The rule of a ``decision`` mapping (``{"kind": ..., "goal_index": ..., "threshold": ...}``)."""
        if not isinstance(decision, dict):
            raise DecisionError(f"'decision' must be an object with a 'kind', got {decision!r}")
        return cls(decision.get("kind"), decision.get("goal_index"), decision.get("threshold"), n_outputs)

    def to_metadata(self) -> dict[str, Any]:
        """The ``decision`` mapping written to ``metadata.json``."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.goal_index is not None:
            out["goal_index"] = self.goal_index
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out

    @property
    def decides(self) -> bool:
        """Whether the rule makes goal decisions (every rule but a ``score`` without a threshold)."""
        return self.kind != SCORE or self.threshold is not None

    @property
    def is_probability(self) -> bool:
        """Whether ``goal_probability`` is a probability in [0, 1] (not for ``score``)."""
        return self.kind != SCORE

    def describe(self) -> str:
        """``sigmoid > 0.85``, ``argmax == 1``, ``softmax[2] > 0.6``, ``score > 0.5`` or ``score (dense)``."""
        if self.kind == ARGMAX:
            return f"argmax == {self.goal_index}"
        if self.kind == SIGMOID:
            return f"sigmoid > {self.threshold:g}"
        if self.kind == SOFTMAX:
            return f"softmax[{self.goal_index}] > {self.threshold:g}"
        return f"score > {self.threshold:g}" if self.threshold is not None else "score (dense)"

    __str__ = describe

    def rows(self, outputs: Any) -> np.ndarray:
        """``outputs`` as float64 (N, n_outputs); DecisionError naming the shape if they do not fit."""
        out = np.asarray(outputs, dtype=np.float64)
        if self.kind in (SIGMOID, SCORE) and out.ndim == 1:
            out = out[:, None]
        if out.ndim != 2 or out.shape[1] != self.n_outputs:
            expected = "(N,) or (N, 1)" if self.n_outputs == 1 and self.kind in (SIGMOID, SCORE) else f"(N, {self.n_outputs})"
            raise DecisionError(f"the {self.describe()} rule needs outputs of shape {expected}, got {out.shape}")
        return out

    def goal_probability(self, outputs: Any) -> np.ndarray:
        """Float64 (N,): the rule's goal probability (sigmoid, softmax of the goal column); for ``score``
        the score itself."""
        return self._probability(self.rows(outputs))

    def _probability(self, out: np.ndarray) -> np.ndarray:
        if self.kind in (ARGMAX, SOFTMAX):
            return _softmax_column(out, int(self.goal_index))
        if self.kind == SIGMOID:
            return _sigmoid(out[:, 0])
        return out[:, 0].copy()

    reward_value = goal_probability  # what a dense reward gives the agent

    def predict_goal(self, outputs: Any) -> np.ndarray:
        """Bool (N,): the rule's goal decision on each row."""
        if not self.decides:
            raise DecisionError("a 'score' rule without a threshold makes no goal decision; set decision.threshold")
        if self.kind == ARGMAX:
            return self.rows(outputs).argmax(axis=1) == self.goal_index
        return self.goal_probability(outputs) > float(self.threshold)

    def decide(self, outputs: Any) -> tuple[np.ndarray, np.ndarray]:
        """(goal bool (N,), goal probability float64 (N,)) in one pass (the env's judge calls it every step)."""
        out = self.rows(outputs)
        probability = self._probability(out)
        if self.kind == ARGMAX:
            return out.argmax(axis=1) == self.goal_index, probability
        if not self.decides:
            return np.zeros(len(probability), dtype=bool), probability
        return probability > float(self.threshold), probability


def rule_problem(kind: Any, goal_index: Any, threshold: Any, n_outputs: Any) -> str | None:
    """Why these fields make no valid rule (naming the field and value), or None."""
    if kind not in KINDS:
        return f"decision.kind {kind!r} is not one of {', '.join(KINDS)}"
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
        return f"the output must give a positive number of values per row, got {n_outputs!r}"
    is_number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if kind in (ARGMAX, SOFTMAX):
        if n_outputs < 2:
            return f"decision.kind {kind!r} needs an output of K >= 2 values per row, the output has {n_outputs}"
        if isinstance(goal_index, bool) or not isinstance(goal_index, int) or not 0 <= goal_index < n_outputs:
            return f"decision.goal_index {goal_index!r} is not a column of the output (which has {n_outputs})"
    elif goal_index is not None:
        return f"decision.goal_index {goal_index!r} has no meaning for decision.kind {kind!r} (one value per row)"
    if kind in (SIGMOID, SCORE) and n_outputs != 1:
        return f"decision.kind {kind!r} needs one value per row ((N,) or (N, 1)), the output has {n_outputs}"
    if kind == ARGMAX and threshold is not None:
        return f"decision.threshold {threshold!r} has no meaning for 'argmax' (use 'softmax' with a threshold)"
    if kind in (SIGMOID, SOFTMAX):
        if not is_number or not 0.0 < float(threshold) < 1.0:
            return f"decision.threshold {threshold!r} must be a number in (0, 1) for {kind!r} (a probability)"
    if kind == SCORE and threshold is not None and (not is_number or not math.isfinite(threshold)):
        return f"decision.threshold {threshold!r} must be a finite number for 'score'"
    return None


def rule_of(backend: Any) -> DecisionRule:
    """The decision rule of a backend-like object: its ``decision``, else argmax over its ``goal_index``
    (1 when it has none): how golden outputs and hand-written fakes keep working."""
    rule = getattr(backend, "decision", None)
    if isinstance(rule, DecisionRule):
        return rule
    model_dir = getattr(backend, "model_dir", None)
    if model_dir is not None and isinstance(getattr(model_dir, "decision", None), DecisionRule):
        return model_dir.decision
    goal_index = int(getattr(backend, "goal_index", 1))
    return DecisionRule(ARGMAX, goal_index=goal_index, n_outputs=max(2, goal_index + 1))


def loose_argmax(rule: DecisionRule, n_outputs: int) -> DecisionRule:
    """An argmax rule sized to the outputs actually seen (fakes whose class count is not declared)."""
    if rule.kind == ARGMAX and rule.n_outputs != n_outputs and n_outputs > int(rule.goal_index):
        return DecisionRule(ARGMAX, goal_index=rule.goal_index, n_outputs=n_outputs)
    return rule
