"""The optimisers behind the state search: CMA-ES (the ``cma`` package) and Hypothesis's ``target()``.

Each drives ``evaluate(restart, u) -> score`` (higher is better) over vectors ``u`` in [-1, 1]^dim
until ``spent()`` says the budget of env steps is used; ``restart`` (0, 1, ...) picks the reset seed.
CMA-ES runs one strategy per restart, a new restart when it stops or has used its share of the
budget; Hypothesis draws the restart and ``u`` and hill-climbs on ``target(score)``. Measured on the
point env and PandaHover (``docs/fidelity.md``), CMA-ES finds more false goals per env step, so it is
the default (``method="auto"``) when ``cma`` is installed (the ``search`` extra), Hypothesis otherwise.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

Evaluate = Callable[[int, np.ndarray], float]
METHODS = ("cma", "hypothesis")
RESTARTS = 2  # restarts (reset seeds) the budget is shared among


def available_method(method: str = "auto") -> str:
    """``method``, or for ``"auto"`` the best installed one (``cma`` if importable, else ``hypothesis``)."""
    if method == "auto":
        return "cma" if importlib.util.find_spec("cma") is not None else "hypothesis"
    if method not in METHODS:
        raise ValueError(f"unknown search method {method!r}; allowed: auto, {', '.join(METHODS)}")
    if method == "cma" and importlib.util.find_spec("cma") is None:
        raise ImportError("the cma search method needs the cma package: pip install 'pytest-drlreward[search]'")
    return method


def cma_search(evaluate: Evaluate, dim: int, spent: Callable[[], float], seed: int, restarts: int = RESTARTS) -> None:
    """CMA-ES from the centre (sigma 0.5, bounds [-1, 1]); restart ``k`` runs while ``spent() < (k + 1) / restarts``.

    ``spent()`` is the share of the budget used (0 to 1); the last restart keeps going until it is 1.
    """
    import cma

    restart = 0
    while spent() < 1.0:
        options = {"bounds": [-1.0, 1.0], "seed": seed * 1000 + restart + 1, "verbose": -9}
        strategy = cma.CMAEvolutionStrategy(np.zeros(dim), 0.5, options)
        share = (restart + 1) / restarts if restart < restarts - 1 else 1.0
        while spent() < share and not strategy.stop():
            candidates = strategy.ask()
            scores = []
            for u in candidates:
                if spent() >= 1.0:
                    return
                scores.append(evaluate(restart, np.asarray(u)))
            strategy.tell(candidates, [-score for score in scores])  # cma minimises
        restart += 1


def hypothesis_search(evaluate: Evaluate, dim: int, spent: Callable[[], float], seed: int, restarts: int = RESTARTS,
                      max_examples: int = 1000) -> None:
    """Hypothesis draws (restart, u) and steers with ``target(score)``; examples after the budget cost nothing
    (``max_examples``: about twice the probes the budget pays for, as probes may end early)."""
    from hypothesis import HealthCheck, Phase, given, settings, target
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    @hypothesis_seed(seed)
    @settings(max_examples=max_examples, phases=[Phase.generate, Phase.target], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(restart=st.integers(0, restarts - 1),
           u=arrays(np.float64, dim, elements=st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)))
    def explore(restart: int, u: np.ndarray) -> None:
        if spent() < 1.0:
            target(float(evaluate(restart, u)))

    explore()


def run_method(method: str, evaluate: Evaluate, dim: int, spent: Callable[[], float], seed: int,
               restarts: int = RESTARTS, probes: int = 100) -> str:
    """Run the search ``method`` (``auto``, ``cma`` or ``hypothesis``); return the method used.

    ``probes``: how many evaluations the budget pays for at most lengths (Hypothesis's example count).
    """
    used = available_method(method)
    if used == "cma":
        cma_search(evaluate, dim, spent, seed, restarts)
    else:
        hypothesis_search(evaluate, dim, spent, seed, restarts, max_examples=max(10, 2 * probes))
    return used
