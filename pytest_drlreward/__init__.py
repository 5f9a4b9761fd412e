"""pytest-drlreward: check Gymnasium envs and their learned (classifier) rewards with pytest.

The plugin (``pytest_drlreward.plugin``) loads through the ``pytest11`` entry point. This package's
public names are imported on first use, so ``import pytest_drlreward`` stays light:

- :func:`assert_backends_agree`, :class:`ParityError`, :class:`ParityReport`: backend parity.
- :func:`assert_step_contract`, :class:`StepContractError`: the Gymnasium reset/step contract.
- :func:`export_classifier`: write an ``nn.Module`` as a classifier directory (``drl_model``).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "assert_backends_agree": "pytest_drlreward.checks",
    "assert_step_contract": "pytest_drlreward.checks",
    "ParityError": "pytest_drlreward.checks",
    "ParityReport": "pytest_drlreward.checks",
    "StepContractError": "pytest_drlreward.checks",
    "export_classifier": "panda_env.reward.artifacts",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
