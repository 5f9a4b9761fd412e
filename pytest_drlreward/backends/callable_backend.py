"""A Python callable as a backend (``drl_reference = module:function``): how a JAX/Flax or TensorFlow team
brings its own framework's outputs to compare the exported engines with.

The callable gets numpy inputs, each checked against the directory's ``inputs``: as one argument (an
array for a one-input model, else a dict name -> array), or as keyword arguments when its signature
names every input (``forward(front, wrist)``; see ``call_forms.py``). It returns the model's output
(logits, as the graph gives them) as a numpy-convertible array; it is imported when the backend is
loaded, never from inside the classifier directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from pytest_drlreward.backends.base import RewardBackend
from pytest_drlreward.backends.call_forms import KEYWORDS, ONE_ARGUMENT, call_form, describe, params_of
from pytest_drlreward.classifier.directory import ModelDir


def import_callable(spec: str, trusted_modules: Iterable[str] = (), model_dir: ModelDir | None = None) -> Callable[..., Any]:
    """``module:function`` -> the callable, allowed by ``pytest_drlreward.util.allowlist`` (a function or class of your
    project or of ``trusted_modules``, never inside the classifier directory); ValueError naming what is wrong."""
    from pytest_drlreward.util.allowlist import Trust, resolve_trusted

    trust = Trust(tuple(trusted_modules), model_dir=model_dir.path if model_dir is not None else None)
    return resolve_trusted(spec, "the callable reference", trust)


class CallableBackend(RewardBackend):
    """``function(inputs) -> outputs`` on numpy arrays, judged by the directory's decision rule."""

    def __init__(self, model_dir: ModelDir, function: Callable[..., Any] | str, trusted_modules: Iterable[str] = ()) -> None:
        super().__init__(model_dir)
        self.spec = function if isinstance(function, str) else getattr(function, "__qualname__", repr(function))
        self.function = import_callable(function, trusted_modules, model_dir) if isinstance(function, str) else function
        self.name = self.spec
        params = params_of(self.function)
        self.call_form = ONE_ARGUMENT if params is None else call_form(params, self.input_names,
                                                                        describe(self.function, self.spec))

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if self.call_form == KEYWORDS:
            return np.asarray(self.function(**inputs), dtype=np.float32)
        given: Any = next(iter(inputs.values())) if len(inputs) == 1 else inputs
        return np.asarray(self.function(given), dtype=np.float32)
