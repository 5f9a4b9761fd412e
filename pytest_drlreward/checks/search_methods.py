"""The optimisers behind the state search: CMA-ES (the ``cmaes`` package, the CMA-ES behind Optuna's
sampler; numpy only, it imports in milliseconds where ``cma`` takes seconds for SciPy and matplotlib)
and Hypothesis's ``target()``.

Each drives ``evaluate(restart, u) -> score`` (higher is better) over vectors ``u`` in [-1, 1]^dim
until ``spent()`` says the budget of env steps is used; ``restart`` (0, 1, ...) picks the reset seed.
CMA-ES runs one strategy per restart, a new restart when it stops or has used its share of the
budget; Hypothesis draws the restart and ``u`` and hill-climbs on ``target(score)``. Measured on the
point env and PandaHover (``docs/fidelity.md``), CMA-ES finds more false goals per env step, so it is
the default (``method="auto"``) when ``cmaes`` is installed (the ``search`` extra), Hypothesis otherwise.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence

import numpy as np

Evaluate = Callable[[int, np.ndarray], float]
METHODS = ("cma", "hypothesis")
SIGMA = 0.5  # CMA-ES step size from the centre
WARM_SIGMA = 0.3  # ... and around a warm start (a good probe of an earlier search)
RESTARTS = 2  # restarts (reset seeds) the budget is shared among


def available_method(method: str = "auto") -> str:
    """``method``, or for ``"auto"`` the best installed one (``cma`` if importable, else ``hypothesis``)."""
    if method == "auto":
        return "cma" if importlib.util.find_spec("cmaes") is not None else "hypothesis"
    if method not in METHODS:
        raise ValueError(f"unknown search method {method!r}; allowed: auto, {', '.join(METHODS)}")
    if method == "cma" and importlib.util.find_spec("cmaes") is None:
        raise ImportError("the cma search method needs the cmaes package: pip install 'pytest-drlreward[search]'")
    return method


def _cma_class() -> type:
    """``cmaes.CMA``, read from its own numpy-only module: ``import cmaes`` also imports its other
    strategies and, through them, SciPy (about 2 s, more than a default search takes)."""
    import importlib.util
    import sys

    if "cmaes" in sys.modules:
        return sys.modules["cmaes"].CMA
    name = "pytest_drlreward._cmaes_cma"
    if name not in sys.modules:
        package = importlib.util.find_spec("cmaes")
        spec = importlib.util.spec_from_file_location(name, f"{package.submodule_search_locations[0]}/_cma.py")
        if spec is None or spec.loader is None:
            from cmaes import CMA

            return CMA
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name].CMA


def cma_search(evaluate: Evaluate, dim: int, spent: Callable[[], float], seed: int, restarts: int = RESTARTS,
               starts: Sequence[np.ndarray | None] = ()) -> None:
    """CMA-ES from the centre (sigma 0.5, bounds [-1, 1]); restart ``k`` runs while ``spent() < (k + 1) / restarts``.

    ``spent()`` is the share of the budget used (0 to 1); the last restart keeps going until it is 1.
    ``starts[k]``: where restart ``k`` starts instead (sigma 0.3), e.g. the best probe of the goal search:
    false goals lie next to the goal, and a short budget leaves CMA-ES few generations to get there.
    """
    CMA = _cma_class()
    restart = 0
    bounds = np.tile([-1.0, 1.0], (dim, 1))
    while spent() < 1.0:
        start = starts[restart] if restart < len(starts) else None
        mean, sigma = (np.zeros(dim), SIGMA) if start is None else (np.clip(start, -0.99, 0.99), WARM_SIGMA)
        strategy = CMA(mean=mean, sigma=sigma, bounds=bounds, seed=seed * 1000 + restart + 1)
        share = (restart + 1) / restarts if restart < restarts - 1 else 1.0
        while spent() < share and not strategy.should_stop():
            solutions = []
            for _ in range(strategy.population_size):
                if spent() >= 1.0:
                    return
                u = strategy.ask()
                solutions.append((u, -float(evaluate(restart, np.asarray(u)))))  # cmaes minimises
            strategy.tell(solutions)
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
               restarts: int = RESTARTS, probes: int = 100, starts: Sequence[np.ndarray | None] = ()) -> str:
    """Run the search ``method`` (``auto``, ``cma`` or ``hypothesis``); return the method used.

    ``probes``: how many evaluations the budget pays for at most lengths (Hypothesis's example count);
    ``starts``: warm starts per restart (CMA-ES only; Hypothesis explores from scratch).
    """
    used = available_method(method)
    if used == "cma":
        cma_search(evaluate, dim, spent, seed, restarts, starts)
    else:
        hypothesis_search(evaluate, dim, spent, seed, restarts, max_examples=max(10, 2 * probes))
    return used
