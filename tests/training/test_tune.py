"""The SAC search's bookkeeping (panda_env.bench.tune) on fake training runs: no SAC, no simulator."""

from __future__ import annotations

import json

import pytest

from panda_env.bench import tune as tune_command
from panda_env.bench import tune_report
from panda_env.bench import tune_search as tune
from panda_env.bench.tune_search import CURRENT, SeedResult, TrialRow


def _result(seed: int, seconds: float, solved: bool = True, steps: int = 1000) -> SeedResult:
    return SeedResult(seed=seed, solved=solved, steps=steps, seconds=seconds, learning_s=seconds / 2)


def test_objective_is_the_mean_seconds_to_solve():
    assert tune.objective_value([_result(0, 4.0), _result(1, 6.0)], n_seeds=2) == pytest.approx(5.0)


def test_an_unsolved_seed_is_penalised_and_seeds_not_run_count_like_it():
    slow_failure = _result(0, 40.0, solved=False)
    assert slow_failure.score() == pytest.approx(tune.PENALTY_FACTOR * 40.0)
    cheap_failure = _result(0, 1.0, solved=False)
    assert cheap_failure.score() == pytest.approx(tune.PENALTY_FLOOR_S)  # a cheap failure never beats a solve
    value = tune.objective_value([_result(0, 5.0), slow_failure], n_seeds=3)
    assert value == pytest.approx((5.0 + 80.0 + 80.0) / 3)
    with pytest.raises(ValueError, match="at least one"):
        tune.objective_value([], n_seeds=3)


def test_sac_kwargs_keep_fused_adam_and_cap_gradient_steps():
    kwargs = tune.sac_kwargs({**tune.CURRENT_PARAMS, "net_width": 16, "train_freq": 1, "gradient_steps": 2})
    assert kwargs["policy_kwargs"] == {"net_arch": [16, 16], "optimizer_kwargs": {"fused": True}}
    assert kwargs["gradient_steps"] == 1 and "net_width" not in kwargs


def test_current_params_are_the_fast_profiles_sac_options():
    """The reference trial must be what the fast profile runs today (its options, SB3's defaults for the rest)."""
    import inspect

    from stable_baselines3 import SAC

    from panda_env.training.profiles import sac_options

    defaults = {name: p.default for name, p in inspect.signature(SAC).parameters.items()}
    kwargs = tune.sac_kwargs(tune.CURRENT_PARAMS)
    fast = sac_options("fast")
    assert kwargs.pop("policy_kwargs") == fast.pop("policy_kwargs")
    for name, value in kwargs.items():
        assert fast.get(name, defaults[name]) == value, name


def test_chosen_needs_a_faster_solve_on_every_seed():
    current = TrialRow(CURRENT, {}, [_result(10, 20.0), _result(11, 20.0)], 20.0)
    everywhere = TrialRow("a", {"net_width": 32}, [_result(10, 8.0), _result(11, 9.0)], 8.5)
    once_slower = TrialRow("b", {"net_width": 32}, [_result(10, 2.0), _result(11, 21.0)], 11.5)
    unsolved = TrialRow("c", {"net_width": 32}, [_result(10, 1.0), _result(11, 1.0, solved=False)], 30.5)
    assert tune.chosen([current, everywhere, once_slower, unsolved]).name == "a"
    assert tune.chosen([current, once_slower, unsolved]) is None


def test_confirm_alternates_the_order_seed_by_seed(monkeypatch):
    calls = []

    def fake_run_seed(params, seed, *args, **kwargs):
        calls.append((params["learning_rate"], seed))
        return _result(seed, 5.0)

    monkeypatch.setattr(tune, "run_seed", fake_run_seed)
    rows = tune.confirm({"new": {**tune.CURRENT_PARAMS, "learning_rate": 1e-3}}, seeds=(10, 11))
    assert [row.name for row in rows] == [CURRENT, "new"]
    current = tune.CURRENT_PARAMS["learning_rate"]
    assert calls == [(current, 10), (1e-3, 10), (1e-3, 11), (current, 11)]


def test_search_stops_a_trial_at_its_first_unsolved_seed_and_writes_the_report(monkeypatch, tmp_path):
    pytest.importorskip("optuna")
    runs = []

    def fake_run_seed(params, seed, *args, **kwargs):
        runs.append(seed)
        solved = params["learning_rate"] == tune.PROBE_PARAMS["learning_rate"]  # only the probe solves
        return _result(seed, 3.0 + seed, solved=solved, steps=1500 if solved else 4000)

    monkeypatch.setattr(tune, "run_seed", fake_run_seed)
    rows = tune.search(2, seeds=(0, 1, 2), cap=4000)
    assert runs == [0, 0, 1, 2]  # the first trial stopped after seed 0
    assert [row.name for row in rows] == ["probe", CURRENT]  # best first
    assert rows[0].value == pytest.approx(4.0) and rows[1].state == "unsolved"

    out = tmp_path / "tuning.md"
    monkeypatch.setattr(tune, "search", lambda *args, **kwargs: rows)
    assert tune_command.main(["--trials", "2", "--rows", str(tmp_path / "rows.json"), "--out", str(out)]) == 0
    text = out.read_text()
    assert "## Search space" in text and "| probe | 4.0 | complete | 0: 1500 / 3.0 s; 1: 1500 / 4.0 s" in text
    saved = json.loads((tmp_path / "rows.json").read_text())
    assert [TrialRow.from_dict(r).name for r in saved["rows"]] == ["probe", CURRENT]


def test_markdown_report_with_a_confirmation(tmp_path):
    current = TrialRow(CURRENT, tune.CURRENT_PARAMS, [_result(10, 20.0, steps=4000)], 20.0)
    new = TrialRow("trial 7", tune.PROBE_PARAMS, [_result(10, 6.0, steps=1500)], 6.0)
    new.results[0].final_success = 0.96
    text = tune_report.render_markdown([new, current], "python -m panda_env.bench.tune", {"seeds": [0, 1, 2]},
                                confirmation=[current, new], confirm_meta={"backend": "openvino", "seeds": [10]})
    assert "| 10 | 4000 / 20.0 | 1500 / 6.0 (96%) |" in text
    assert "`trial 7` solved faster on every seed" in text and "'learning_rate': 0.003" in text


def test_missing_optuna_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_optuna(name, *args, **kwargs):
        if name == "optuna":
            raise ImportError("No module named 'optuna'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_optuna)
    with pytest.raises(ImportError, match=r'pip install "optuna>=.*\[tune\] extra; or pip install "\.\[tune\]"'):
        tune.require_optuna()


def test_recheck_ranks_on_all_seeds_and_drops_a_setting_at_its_first_failure(monkeypatch):
    lucky = TrialRow("lucky", {"learning_rate": 1.0}, [_result(0, 1.0)], 1.0)
    steady = TrialRow("steady", {"learning_rate": 2.0}, [_result(0, 3.0)], 3.0)
    pruned = TrialRow("pruned", {"learning_rate": 3.0}, [_result(0, 0.5)], None, "pruned")
    calls = []

    def fake_run_seed(params, seed, *args, **kwargs):
        calls.append((params["learning_rate"], seed))
        return _result(seed, 3.0, solved=params["learning_rate"] == 2.0 or seed != 3)

    monkeypatch.setattr(tune, "run_seed", fake_run_seed)
    rows = tune.recheck([lucky, steady, pruned], top=2, seeds=(3, 4))
    assert [row.name for row in rows] == ["steady", "lucky"] and rows[1].state == "unsolved"
    assert calls == [(1.0, 3), (2.0, 3), (2.0, 4)]  # round-robin; "lucky" stopped at seed 3, "pruned" not rerun
    assert lucky.results == [_result(0, 1.0)]  # the search's rows are left as they were


def test_search_on_ray_runs_every_seed_of_a_trial_as_a_task(monkeypatch):
    """With --executor ray a trial's seeds go to run_all together (no pruning); the rows come out as locally."""
    pytest.importorskip("optuna")
    batches = []

    def fake_run_all(fn, arguments, executor, address, cpus_per_task):
        batches.append((executor, [args[1] for args in arguments]))
        return [("host", _result(args[1], 3.0, solved=True, steps=1500)) for args in arguments]

    monkeypatch.setattr(tune, "run_all", fake_run_all)
    monkeypatch.setattr(tune, "executor_session", lambda *a: __import__("contextlib").nullcontext())
    rows = tune.search(2, seeds=(0, 1, 2), cap=4000, executor="ray")
    assert batches == [("ray", [0, 1, 2]), ("ray", [0, 1, 2])]
    assert all(row.state == "complete" and row.value == pytest.approx(3.0) for row in rows)
