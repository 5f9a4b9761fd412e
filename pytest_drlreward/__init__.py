"""pytest-drlreward: check Gymnasium envs and their learned (classifier) rewards, with pytest or without.

Layers (docs/architecture.md; a module imports only its own layer or lower ones, no import circles):
0 shared (``errors``, ``defaults``, ``util/``) < 1 core (``classifier/``, ``backends/``, ``env/``) < 2 checks
(``checks/``, ``audit/``, ``strategies``, ``timing``, ``replay``) < 3 the pytest side (``plugin/``, ``suite/``),
the only one that imports pytest.

The plugin (``pytest_drlreward.plugin``) loads through the ``pytest11`` entry point. This package's
public names are imported on first use, so ``import pytest_drlreward`` stays light:

- :func:`load_backend`, ``BACKEND_NAMES``: run a classifier directory on torch, onnxruntime or openvino.
- :func:`export_classifier`, :func:`write_classifier_dir` (no torch), :class:`DecisionRule`,
  :func:`open_model_dir`, :class:`ModelDir`, :class:`ModelDirError`: the classifier-directory format;
  :func:`quantize_classifier`: its INT8 OpenVINO model (NNCF).
- :func:`assert_backends_agree`, :class:`ParityError`, :class:`ParityReport`: backend parity.
- :func:`assert_step_contract`, :class:`StepContractError`: the Gymnasium reset/step contract.
- :func:`assert_reward_fidelity`, :class:`FidelityError`, :func:`collect_rollout`: the learned reward
  against the env's truth on rollouts (recall, false-goal rate, agreement, Wilson intervals).
- :func:`assert_decisions_agree`: reward flips between two backends on the same (env) images.
- :func:`assert_labelled_accuracy`: accuracy on labelled images (threshold or accuracy budget).
- :func:`assert_vecenv_matches`: a VecEnv against its envs stepped one by one.
- :func:`assert_deployed_reward_matches`: the reward the env computes against the classifier directory's
  decision on each step's own inputs.

During training: ``pytest_drlreward.audit`` (``RewardAudit``, a Gymnasium wrapper; ``RewardAuditCallback`` for
stable-baselines3; ``AuditReport`` with ``onset_step``): the learned reward against the env's truth on the
states the agent visits, and the onset of exploitation.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_LAZY = {
    "assert_backends_agree": "pytest_drlreward.checks",
    "assert_step_contract": "pytest_drlreward.checks",
    "ParityError": "pytest_drlreward.checks",
    "ParityReport": "pytest_drlreward.checks",
    "StepContractError": "pytest_drlreward.checks",
    "assert_reward_fidelity": "pytest_drlreward.checks",
    "FidelityError": "pytest_drlreward.checks",
    "FidelityReport": "pytest_drlreward.checks",
    "collect_rollout": "pytest_drlreward.checks",
    "Rollout": "pytest_drlreward.checks",
    "find_false_goals": "pytest_drlreward.checks",
    "seek_goals": "pytest_drlreward.checks",
    "FalseGoalSearch": "pytest_drlreward.checks",
    "sweep_thresholds": "pytest_drlreward.checks",
    "SweepReport": "pytest_drlreward.checks",
    "assert_decisions_agree": "pytest_drlreward.checks",
    "DecisionParityError": "pytest_drlreward.checks",
    "assert_labelled_accuracy": "pytest_drlreward.checks",
    "AccuracyError": "pytest_drlreward.checks",
    "assert_vecenv_matches": "pytest_drlreward.checks",
    "assert_deployed_reward_matches": "pytest_drlreward.checks",
    "DeployedRewardError": "pytest_drlreward.checks",
    "VecEnvMismatchError": "pytest_drlreward.checks",
    "wilson_interval": "pytest_drlreward.checks",
    "export_classifier": "pytest_drlreward.classifier.export",
    "quantize_classifier": "pytest_drlreward.classifier.quantize",
    "open_model_dir": "pytest_drlreward.classifier.directory",
    "ModelDir": "pytest_drlreward.classifier.directory",
    "ModelDirError": "pytest_drlreward.classifier.directory",
    "write_classifier_dir": "pytest_drlreward.classifier.writer",
    "DecisionRule": "pytest_drlreward.classifier.decision",
    "load_backend": "pytest_drlreward.backends.registry",
    "load_reference": "pytest_drlreward.backends.registry",
    "BACKEND_NAMES": "pytest_drlreward.backends.registry",
    "BackendUnavailableError": "pytest_drlreward.backends.registry",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
