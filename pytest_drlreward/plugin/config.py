"""``DrlConfig``: one pytest run's plugin settings, parsed once; its fields come from ``setting_table.SETTINGS``.

Beside the settings it keeps what reading them produced, so nothing is opened, hashed or parsed twice:
the opened, hash-checked classifier directory (``model``), why the reference was chosen, the rule's
description, and the directory ``drl_policy`` is relative to. No pytest here.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from pytest_drlreward.backends.registry import is_quantized
from pytest_drlreward.plugin.setting_table import SETTINGS
from pytest_drlreward.util.settings import options_for

# What reading the settings produced besides their values: (field, annotation, default).
DERIVED: tuple[tuple[str, str, Any], ...] = (
    ("env_spec", "Any", None),  # the parsed, checked EnvSpec of ``env`` (None when not configured)
    ("model", "Any", None),  # the opened, hash-checked ModelDir of ``model_dir`` (None when not configured)
    ("reference_reason", "str", "the default"),
    ("decision", "str | None", None),  # the classifier directory's rule, e.g. "sigmoid > 0.85"
    ("policy_base", "Path | None", None),  # the directory a relative drl_policy starts from
)


class _Methods:
    """What a ``DrlConfig`` answers beyond its fields."""

    def tolerance(self, backend: str) -> tuple[float, float]:
        """(atol, rtol) for ``backend``: its ``drl_parity_tolerances`` entry, else drl_parity_atol/rtol."""
        return self.tolerances.get(backend, (self.atol, self.rtol))  # type: ignore[attr-defined]

    def options(self, backend: str) -> dict[str, Any]:
        """Constructor options of ``backend`` from ``drl_backend_options``."""
        return options_for(self.backend_options, backend)  # type: ignore[attr-defined]

    def env_to_make(self) -> Any:
        """What envs are built from: the checked ``env_spec`` read with ``env``, or ``env``'s own text when
        the config was made or changed by hand (``env_spec`` unset, or left from another ``env``)."""
        spec = self.env_spec  # type: ignore[attr-defined]
        return spec if spec is not None and spec.text == self.env else self.env  # type: ignore[attr-defined]

    @staticmethod
    def quantized(backend: str) -> bool:
        """Whether ``backend`` is judged by decisions (argmax agreement, accuracy budget), not tolerance."""
        return is_quantized(backend)


def _field(default: Any) -> Any:
    if isinstance(default, (dict, list, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default))
    return dataclasses.field(default=default)


DrlConfig = dataclasses.make_dataclass(
    "DrlConfig",
    [(row.attr, row.type, _field(row.default)) for row in SETTINGS] + [(n, t, _field(d)) for n, t, d in DERIVED],
    bases=(_Methods,),
    frozen=True,
)
DrlConfig.__module__ = __name__  # make_dataclass's module= needs Python 3.12
DrlConfig.__doc__ = ("The plugin's settings for one pytest run: one field per row of setting_table.SETTINGS "
                     "(``env``/``model_dir``/``truth_key`` None when not configured: tests needing them skip), "
                     "plus what reading them produced (DERIVED).")
