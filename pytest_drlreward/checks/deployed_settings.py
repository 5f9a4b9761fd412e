"""The deployed-path check's settings: its defaults and the parsers of ``drl_deployed_keys`` and
``drl_deployed_env_kwargs``. Standard library only (``setting_table`` reads it when the plugin loads).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pytest_drlreward.util.settings import ALL_BACKENDS, parse_backend_options

DECISION, PROBABILITY = "decision", "probability"
DEFAULT_DEPLOYED_KEYS: dict[str, str | None] = {DECISION: "is_goal", PROBABILITY: "goal_probability"}
DEFAULT_DEPLOYED_ATOL = 1e-3  # how far the env's goal probability may be from the directory's
DEFAULT_DEPLOYED_STEPS = 100
_NONE = ("none", "null", "-")


def parse_deployed_keys(value: str | Iterable[str]) -> dict[str, str | None]:
    """Lines (or commas) ``decision = KEY`` and ``probability = KEY`` (``none``: not reported) -> the info keys
    where the env reports its own reward; a role not named keeps its default (``is_goal``, ``goal_probability``)."""
    text = value if isinstance(value, str) else "\n".join(map(str, value))
    keys = dict(DEFAULT_DEPLOYED_KEYS)
    for entry in filter(None, (part.strip() for part in text.replace(",", "\n").splitlines())):
        role, equals, key = (part.strip() for part in entry.partition("="))
        if not equals or role not in keys or not key:
            raise ValueError(f"entry {entry!r} must look like 'decision = INFO_KEY' or 'probability = INFO_KEY' "
                             f"('none' where the env does not report it)")
        keys[role] = None if key.lower() in _NONE else key
    return keys


def parse_env_kwargs(value: str | Iterable[str]) -> dict[str, Any]:
    """Lines (or commas) ``key = value`` -> keyword arguments for building the env (values read as bool, int,
    float, None or text)."""
    table = parse_backend_options(value)
    named = sorted(name for name in table if name != ALL_BACKENDS)
    if named:
        raise ValueError(f"{named[0]!r}: give keyword arguments as 'key = value' lines, e.g. 'reward_backend = "
                         f"onnxruntime'")
    return table.get(ALL_BACKENDS, {})
