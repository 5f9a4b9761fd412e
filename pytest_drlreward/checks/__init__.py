"""Checks for reward backends and Gymnasium environments, usable with or without pytest.

Each check raises an ``AssertionError`` subclass whose message says exactly what failed and where,
and returns a report with the numbers when it passes.

- parity: :func:`assert_backends_agree` (logits within ``atol + rtol*|ref|``);
- decisions: :func:`assert_decisions_agree` (reward flips between two backends on the same images);
- accuracy: :func:`assert_labelled_accuracy` (labelled images, a threshold or an accuracy budget);
- fidelity: :func:`assert_reward_fidelity` (learned reward vs the env's truth on rollouts and searched states;
  a dense ``score`` by :func:`score_fidelity`: correlation and mean error);
- search: :func:`find_false_goals`, :func:`seek_goals`, :func:`collect_searches`; sweep: :func:`sweep_thresholds`;
- deployed path: :func:`assert_deployed_reward_matches` (the reward the env computes is the directory's decision
  on each step's own inputs);
- step contract: :func:`assert_step_contract`; VecEnv: :func:`assert_vecenv_matches`;
- env checkers: :func:`run_gymnasium_checker`, :func:`run_sb3_checker`;
- every check fails on NaN or infinite outputs: :func:`require_finite` (:class:`NonFiniteError`).
"""

from __future__ import annotations

from pytest_drlreward.checks.accuracy import AccuracyError, AccuracyReport, assert_labelled_accuracy
from pytest_drlreward.checks.decisions import (
    DecisionParityError,
    DecisionParityReport,
    Decisions,
    assert_decisions_agree,
    decide,
)
from pytest_drlreward.checks.deployed import (
    DeployedReport,
    DeployedRewardError,
    assert_deployed_reward_matches,
    deployed_report,
)
from pytest_drlreward.checks.env_checkers import EnvCheckerError, run_gymnasium_checker, run_sb3_checker
from pytest_drlreward.checks.false_goals import FalseGoal, FalseGoalSearch, find_false_goals, save_false_goals, seek_goals
from pytest_drlreward.checks.fidelity import (
    FidelityError,
    FidelityReport,
    assert_reward_fidelity,
    collect_searches,
    fidelity_report,
)
from pytest_drlreward.checks.finite import NonFiniteError, require_finite
from pytest_drlreward.checks.parity import HasLogits, ParityError, ParityReport, assert_backends_agree
from pytest_drlreward.checks.rollout import (
    NoImageSourceError,
    Rollout,
    RolloutError,
    TruthValueError,
    collect_rollout,
    env_image,
)
from pytest_drlreward.checks.score_fidelity import ScoreFidelityError, ScoreFidelityReport, score_fidelity
from pytest_drlreward.checks.search import SearchRollout, search_states
from pytest_drlreward.checks.stats import Proportion, wilson_interval
from pytest_drlreward.checks.step_contract import StepContractError, assert_step_contract
from pytest_drlreward.checks.sweep import SweepReport, plot_sweep, sweep_thresholds
from pytest_drlreward.checks.vecenv import VecEnvMismatchError, VecEnvReport, assert_vecenv_matches

__all__ = [
    "HasLogits",
    "AccuracyError",
    "AccuracyReport",
    "DecisionParityError",
    "DecisionParityReport",
    "Decisions",
    "DeployedReport",
    "DeployedRewardError",
    "EnvCheckerError",
    "FalseGoal",
    "FalseGoalSearch",
    "FidelityError",
    "FidelityReport",
    "NoImageSourceError",
    "NonFiniteError",
    "ParityError",
    "ParityReport",
    "Proportion",
    "Rollout",
    "RolloutError",
    "ScoreFidelityError",
    "ScoreFidelityReport",
    "SearchRollout",
    "StepContractError",
    "SweepReport",
    "TruthValueError",
    "VecEnvMismatchError",
    "VecEnvReport",
    "assert_backends_agree",
    "assert_decisions_agree",
    "assert_deployed_reward_matches",
    "assert_labelled_accuracy",
    "assert_reward_fidelity",
    "assert_step_contract",
    "assert_vecenv_matches",
    "collect_rollout",
    "collect_searches",
    "decide",
    "deployed_report",
    "env_image",
    "fidelity_report",
    "find_false_goals",
    "plot_sweep",
    "run_gymnasium_checker",
    "require_finite",
    "run_sb3_checker",
    "score_fidelity",
    "save_false_goals",
    "search_states",
    "seek_goals",
    "sweep_thresholds",
    "wilson_interval",
]
