"""Which optimiser finds more per env step: CMA-ES (``cmaes``) or Hypothesis's ``target()``?

Run from the repository root: ``python tests/downstream/compare_search_methods.py [--panda]``. For each
method and seed: goal states reached by the goal search and false goals found by the false-goal search
(1000 env steps each) on the point env with its 0.7-band classifier; with ``--panda`` also on PandaHover
judged against a 3 cm truth with the shipped (5 cm) classifier. Prints one line per case and wall times.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import point_env  # noqa: E402
import point_model  # noqa: E402

from pytest_drlreward import load_backend  # noqa: E402
from pytest_drlreward.checks.search import FALSE_GOALS, GOALS, search_states  # noqa: E402

BUDGET, SEEDS = 1000, (0, 10, 20)


def counts(make_env, backend, method: str, seed: int) -> tuple[int, int]:
    goals = search_states(make_env(), backend, budget=BUDGET, purpose=GOALS, method=method, seed=seed)
    false = search_states(make_env(), backend, budget=BUDGET, purpose=FALSE_GOALS, method=method, seed=seed)
    return int(goals.truth.sum()), int((false.decisions & ~false.truth).sum())


def compare(name: str, make_env, backend) -> None:
    for method in ("cma", "hypothesis"):
        start = time.perf_counter()
        found = [counts(make_env, backend, method, seed) for seed in SEEDS]
        print(f"{name:<28} {method:<10} (goal states, false goals) per {BUDGET} steps, seeds {SEEDS}: {found}  "
              f"{time.perf_counter() - start:.1f} s")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        point_model.export(Path(tmp) / "band", 0.7)
        compare("point env, 0.7-band", point_env.PointEnv, load_backend("onnxruntime", Path(tmp) / "band", threads=1))
    if "--panda" in sys.argv:
        import gymnasium as gym

        import panda_env  # noqa: F401

        shipped = load_backend("onnxruntime", Path(panda_env.__file__).parent / "models" / "default", threads=1)
        compare("PandaHover, 3 cm truth", lambda: gym.make("PandaHover-v0", goal_radius=0.03), shipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
