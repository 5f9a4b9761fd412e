"""A hint for a parity failure whose reference returns probabilities where the graph gives logits.

A JAX or TensorFlow team's forward pass often ends in ``sigmoid`` / ``softmax``; the exported graph (and
the directory's decision rule) work on logits. Compared elementwise, that is a plain parity gap;
:func:`probability_hint` names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HINT = "the reference returns probabilities; return logits (before sigmoid/softmax)"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500.0, 500.0)))


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def probability_hint(reference: Any, candidate: Any, rule: Any = None) -> str | None:
    """:data:`HINT` (naming sigmoid or softmax when the reference is exactly that of the candidate's outputs) when
    every reference output lies in [0, 1] and the candidate's (the graph's logits) do not; None otherwise, and for
    a ``score`` rule (a dense reward is no logit)."""
    if getattr(rule, "kind", None) == "score":
        return None
    ref, cand = np.asarray(reference, np.float64), np.asarray(candidate, np.float64)
    if ref.size == 0 or ref.shape != cand.shape or not np.isfinite(ref).all() or not np.isfinite(cand).all():
        return None
    if not ((ref >= 0.0) & (ref <= 1.0)).all() or ((cand >= 0.0) & (cand <= 1.0)).all():
        return None
    rows, cand_rows = ref.reshape(len(ref), -1), cand.reshape(len(cand), -1)
    if np.allclose(_sigmoid(cand_rows), rows, atol=1e-3):
        return f"{HINT}: it matches sigmoid of the graph's outputs"
    if cand_rows.shape[1] > 1 and np.allclose(_softmax(cand_rows), rows, atol=1e-3):
        return f"{HINT}: it matches softmax of the graph's outputs"
    return HINT
