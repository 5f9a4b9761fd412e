"""Search SAC's settings for the fast profile: the fewest training seconds to a solved policy on every seed.

An Optuna search in the rl-zoo3 manner (TPE sampler with a fixed seed, a median pruner). A trial trains
SAC on each seed with ``train(..., until_solved=SolvedRule(...))`` and scores the mean over seeds of the
training seconds to solve (checks excluded); a seed that does not solve within the step cap counts as
``PENALTY_FACTOR`` times its seconds (at least ``PENALTY_FLOOR_S``), and the trial stops at its first unsolved seed (the seeds not run
count the same penalty). ``recheck`` re-runs the best settings on more seeds (a 3-seed search favours the
lucky), and ``confirm`` trains the best settings and the fast profile's current ones on other seeds with
the real reward, alternating; a setting is chosen only if it solves faster on every seed.

    python -m panda_env tune --trials 300 --timeout 1740 --cap 4000 --every 100 --rows rows.json --out docs/tuning.md

Optuna is an optional dependency: the ``tune`` extra (``pip install ".[tune]"`` in a clone).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from panda_env.bench.executors import executor_session, run_all
from panda_env.training.profiles import FAST_NET_ARCH, FAST_SAC

logger = logging.getLogger(__name__)

PENALTY_FACTOR = 2.0  # an unsolved seed scores this many times the seconds it trained to the cap,
PENALTY_FLOOR_S = 60.0  # and at least this: more than any solving run takes, so cheap failures never win
CURRENT = "current"  # the name of the fast profile's present settings in tables

# The search space: name -> the values tried (floats: (low, high) sampled log-uniformly).
SEARCH_SPACE: dict[str, Any] = {
    "learning_rate": (3e-4, 1e-2),
    "gamma": [0.8, 0.85, 0.9, 0.95, 0.98, 0.99],
    "batch_size": [32, 64, 128, 256],
    "learning_starts": [0, 50, 100, 200, 400],
    "train_freq": [1, 2, 3, 4],
    "gradient_steps": [1, 2],  # at most train_freq
    "net_width": [16, 32, 64],  # two hidden layers of this width, actor and critics
    "tau": [0.005, 0.01, 0.02, 0.05],
    "ent_coef": ["auto", "auto_0.1", "auto_0.01"],
    "target_entropy": ["auto", -1.0, -4.0],
    "buffer_size": [2_000, 10_000, 1_000_000],
}
# Trials run first, as references: the fast profile today, and the probe on the 2-D stand-in.
# Before the search: SB3's defaults with 32-unit networks (the fast profile until it was tuned).
UNTUNED_PARAMS: dict[str, Any] = {"learning_rate": 3e-4, "gamma": 0.99, "batch_size": 256, "learning_starts": 100,
                                  "train_freq": 1, "gradient_steps": 1, "net_width": 32, "tau": 0.005,
                                  "ent_coef": "auto", "target_entropy": "auto", "buffer_size": 1_000_000}
# The fast profile now: its tuned settings (panda_env.training.profiles.FAST_SAC), SB3's defaults for the rest.
CURRENT_PARAMS: dict[str, Any] = {**UNTUNED_PARAMS, **FAST_SAC, "net_width": FAST_NET_ARCH[0]}
PROBE_PARAMS: dict[str, Any] = {**UNTUNED_PARAMS, "learning_rate": 3e-3, "gamma": 0.9, "batch_size": 128}


def require_optuna():
    """Import optuna, or raise ImportError saying how to install it."""
    try:
        import optuna
    except ImportError as error:
        from pytest_drlreward.backends.registry import install_hint

        raise ImportError(f"the SAC search needs optuna: {install_hint('tune')}") from error
    return optuna


def sac_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """SB3 ``SAC`` keyword arguments (``train``'s ``sac_overrides``) for a point of the search space.

    The fast profile's fused Adam is kept; ``gradient_steps`` is capped at ``train_freq``.
    """
    kwargs = {k: v for k, v in params.items() if k != "net_width"}
    if "gradient_steps" in kwargs and "train_freq" in kwargs:
        kwargs["gradient_steps"] = min(kwargs["gradient_steps"], kwargs["train_freq"])
    width = params.get("net_width", 32)
    kwargs["policy_kwargs"] = {"net_arch": [width, width], "optimizer_kwargs": {"fused": True}}
    return kwargs


def sample_params(trial) -> dict[str, Any]:
    """Draw a point of ``SEARCH_SPACE`` from an Optuna trial (``gradient_steps`` capped at ``train_freq``)."""
    params: dict[str, Any] = {}
    for name, space in SEARCH_SPACE.items():
        if isinstance(space, tuple):
            params[name] = trial.suggest_float(name, *space, log=True)
        else:
            params[name] = trial.suggest_categorical(name, space)
    params["gradient_steps"] = min(params["gradient_steps"], params["train_freq"])  # the value SAC runs with
    return params


@dataclass
class SeedResult:
    """One training run until solved (or the step cap)."""

    seed: int
    solved: bool
    steps: int  # to solve, or the steps trained when unsolved
    seconds: float  # training seconds (checks excluded) to solve, or to the cap
    learning_s: float  # of which SAC's gradient steps
    final_success: float | None = None  # the final evaluation's true-goal success, when one ran

    def score(self, penalty_factor: float = PENALTY_FACTOR, floor_s: float = PENALTY_FLOOR_S) -> float:
        """Seconds to solve; unsolved: ``penalty_factor`` times the seconds spent, at least ``floor_s``."""
        return self.seconds if self.solved else max(penalty_factor * self.seconds, floor_s)


@dataclass
class TrialRow:
    """A trial of the search, or a setting of the confirmation: its parameters and per-seed results."""

    name: str
    params: dict[str, Any]
    results: list[SeedResult] = field(default_factory=list)
    value: float | None = None  # the objective (lower is better); None when pruned
    state: str = "complete"

    @property
    def solved_all(self) -> bool:
        return bool(self.results) and all(r.solved for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRow:
        return cls(data["name"], data["params"], [SeedResult(**r) for r in data["results"]], data.get("value"),
                   data.get("state", "complete"))


def objective_value(results: Sequence[SeedResult], n_seeds: int, penalty_factor: float = PENALTY_FACTOR) -> float:
    """Mean score over ``n_seeds`` seeds; seeds not run (after an unsolved one) score like the worst run."""
    if not results:
        raise ValueError("objective_value needs at least one seed result")
    scores = [r.score(penalty_factor) for r in results]
    scores += [max(scores)] * (n_seeds - len(scores))
    return sum(scores) / n_seeds


def run_seed(params: dict[str, Any], seed: int, backend: str = "oracle", cap: int = 6000, every: int = 250,
             episodes: int = 20, eval_episodes: int = 0) -> SeedResult:
    """Train SAC with ``params`` until solved (or ``cap`` steps) on one seed; return what it took."""
    from panda_env.training.sac import train
    from panda_env.training.solved import SolvedRule

    report = train(backend, steps=cap, seed=seed, eval_episodes=eval_episodes, table_rows=0, n_envs=1,  # as searched
                   until_solved=SolvedRule(target=0.9, every=every, episodes=episodes), sac_overrides=sac_kwargs(params))
    solved = report.until_solved
    final = report.evaluation.get("success_rate") if report.evaluation else None
    return SeedResult(seed=seed, solved=bool(solved["solved"]), steps=solved["steps_to_solve"] or report.steps,
                      seconds=report.total_s, learning_s=report.learning_s, final_success=final)


def search(n_trials: int, seeds: Sequence[int] = (0, 1, 2), backend: str = "oracle", cap: int = 6000,
           every: int = 250, episodes: int = 20, sampler_seed: int = 0, timeout_s: float | None = None,
           penalty_factor: float = PENALTY_FACTOR, references: bool = True,
           on_trial: Callable[[TrialRow], None] | None = None, executor: str = "local", address: str | None = None,
           cpus_per_task: float = 1.0) -> list[TrialRow]:
    """Run an Optuna TPE search of ``SEARCH_SPACE``; return every trial as a row, best first.

    ``references``: the fast profile's present settings and the stand-in probe's are the first trials.
    A trial reports its running mean after each seed to a median pruner and stops at its first unsolved
    seed. ``timeout_s`` stops starting new trials after that many seconds. ``on_trial`` sees each row.
    """
    optuna = require_optuna()
    rows: list[TrialRow] = []

    def objective(trial) -> float:
        params = sample_params(trial)
        names = (CURRENT, "probe") if references else ()
        row = TrialRow(names[trial.number] if trial.number < len(names) else f"trial {trial.number}", params)
        rows.append(row)
        try:
            if executor != "local":  # every seed of the trial at once, one Ray task each; no pruning
                arguments = [(params, seed, backend, cap, every, episodes) for seed in seeds]
                row.results.extend(result for _, result in run_all(run_seed, arguments, executor, address,
                                                                     cpus_per_task))
                row.value = objective_value(row.results, len(seeds), penalty_factor)
                row.state = "complete" if row.solved_all else "unsolved"
                return row.value
            for index, seed in enumerate(seeds):
                result = run_seed(params, seed, backend, cap, every, episodes)
                row.results.append(result)
                trial.set_user_attr("results", [asdict(r) for r in row.results])
                running = objective_value(row.results, len(seeds), penalty_factor)
                if not result.solved:
                    break
                trial.report(running, index)
                if index < len(seeds) - 1 and trial.should_prune():
                    row.state = "pruned"
                    raise optuna.TrialPruned()
            row.value = objective_value(row.results, len(seeds), penalty_factor)
            if not row.solved_all:
                row.state = "unsolved"
            return row.value
        finally:
            logger.info("%s %s: %s", row.name, row.state, ", ".join(
                f"seed {r.seed} {'solved' if r.solved else 'unsolved'} {r.steps} steps {r.seconds:.1f} s" for r in row.results))
            if on_trial is not None:
                on_trial(row)

    sampler = optuna.samplers.TPESampler(seed=sampler_seed, multivariate=True, n_startup_trials=10)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    if references:
        study.enqueue_trial(CURRENT_PARAMS)
        study.enqueue_trial(PROBE_PARAMS)
    with executor_session(executor, address):
        study.optimize(objective, n_trials=n_trials, timeout=timeout_s, catch=())
    return ranked(rows)


def ranked(rows: Sequence[TrialRow]) -> list[TrialRow]:
    """Rows best first: complete trials solved on every seed by value, then the rest by value."""
    def key(row: TrialRow) -> tuple:
        return (not (row.state == "complete" and row.solved_all), math.inf if row.value is None else row.value)

    return sorted(rows, key=key)


def recheck(rows: Sequence[TrialRow], top: int, seeds: Sequence[int], backend: str = "oracle", cap: int = 6000,
            every: int = 250, episodes: int = 20, penalty_factor: float = PENALTY_FACTOR) -> list[TrialRow]:
    """Re-run the ``top`` settings solved on every search seed on more ``seeds``; return them ranked on all seeds.

    A few search seeds reward settings that were lucky on them; this ranks by the mean over the search's
    and the new seeds. Seeds go round the settings in turn (so machine load falls on all alike); a setting
    stops at its first unsolved seed, its seeds not run counting like it.
    """
    chosen_rows = [TrialRow(row.name, row.params, list(row.results), row.value, row.state) for row in ranked(rows)
                   if row.state == "complete" and row.solved_all][:top]
    if not chosen_rows:
        return []
    n_seeds = len(chosen_rows[0].results) + len(seeds)
    for seed in seeds:
        for row in chosen_rows:
            if row.solved_all:
                row.results.append(run_seed(row.params, seed, backend, cap, every, episodes))
    for row in chosen_rows:
        row.value = objective_value(row.results, n_seeds, penalty_factor)
        row.state = "complete" if row.solved_all else "unsolved"
        logger.info("recheck %s: %.1f s mean, %s", row.name, row.value, seed_cells(row))
    return ranked(chosen_rows)


def confirm(candidates: dict[str, dict[str, Any]], seeds: Sequence[int] = (10, 11, 12), backend: str = "openvino",
            cap: int = 6000, every: int = 250, episodes: int = 20, eval_episodes: int = 50,
            include_current: bool = True) -> list[TrialRow]:
    """Train each candidate (and the current settings) on each seed, alternating their order seed by seed.

    Returns one row per setting, ``current`` first; its value is the mean training seconds to solve
    (penalised when unsolved) and each seed's final evaluation on ``eval_episodes`` other episodes.
    """
    settings = ({CURRENT: CURRENT_PARAMS} if include_current else {}) | dict(candidates)
    rows = {name: TrialRow(name, params) for name, params in settings.items()}
    for index, seed in enumerate(seeds):
        order = list(rows) if index % 2 == 0 else list(reversed(rows))
        for name in order:
            result = run_seed(rows[name].params, seed, backend, cap, every, episodes, eval_episodes)
            rows[name].results.append(result)
            logger.info("confirm %s seed %d: solved %s in %d steps, %.1f s", name, seed, result.solved, result.steps,
                        result.seconds)
    for row in rows.values():
        row.value = objective_value(row.results, len(seeds))
    return list(rows.values())


def chosen(confirmation: Sequence[TrialRow]) -> TrialRow | None:
    """The fastest candidate that solved every seed faster than ``current`` on the same seed, or None."""
    by_name = {row.name: row for row in confirmation}
    current = by_name.get(CURRENT)
    if current is None:
        return None
    baseline = {r.seed: r for r in current.results}
    winners = [row for row in confirmation if row.name != CURRENT and row.solved_all
               and all(r.seed in baseline and r.score() < baseline[r.seed].score() for r in row.results)]
    return min(winners, key=lambda row: row.value, default=None)


def seed_cells(row: TrialRow) -> str:
    return "; ".join(f"{r.seed}: {r.steps}{'' if r.solved else ' (unsolved)'} / {r.seconds:.1f} s" for r in row.results)
