"""compare through Ray: the same table as sequential runs, with every run's fields and host.

Ray starts a local instance limited to 2 CPUs (several seconds); the test is marked ``slow`` so the
default suite stays fast: ``pytest -m slow tests/training/test_ray_executor.py``.
"""

from __future__ import annotations

import pytest

from panda_env.bench.compare import compare_backends
from panda_env.bench.executors import run_all

ray = pytest.importorskip("ray")  # the optional extra: pip install "pytest-drlreward[ray]"

SMALL = {"backends": ["oracle"], "runs": 2, "steps": 200, "seed": 3, "eval_episodes": 4}
RUN_FIELDS = {"backend", "seed", "steps", "total_s", "physics_s", "learning_s", "evaluation", "host"}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_compare_on_ray_matches_the_sequential_run(local_ray):
    sequential = compare_backends(**SMALL)
    on_ray = compare_backends(**SMALL, executor="ray")
    assert on_ray["executor"] == "ray" and sequential["executor"] == "local"
    for result in (sequential, on_ray):
        runs = result["runs"]["oracle"]
        assert [r["seed"] for r in runs] == [3, 4]
        assert all(RUN_FIELDS <= set(r) for r in runs)
    # same seeds, same training: the same policies, so the same evaluation outcomes
    assert [r["evaluation"] for r in on_ray["runs"]["oracle"]] == [r["evaluation"] for r in sequential["runs"]["oracle"]]
    assert on_ray["rows"][0]["success_rate"] == sequential["rows"][0]["success_rate"]
    assert set(on_ray["rows"][0]) == set(sequential["rows"][0])


def test_without_ray_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "ray>=.*\[ray\] extra; or pip install "\.\[ray\]"'):
        run_all(print, [()], executor="ray")


def test_local_executor_refuses_an_address_and_unknown_executors():
    with pytest.raises(ValueError, match="--address needs --executor ray"):
        run_all(print, [()], address="10.0.0.1:6379")
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        run_all(print, [()], executor="dask")
