"""Parsing the plugin's structured settings from ini text; no pytest here (errors are ValueError).

Tables (``drl_parity_tolerances``, ``drl_backend_options``) come as lines, one entry a line, from a
``pytest.ini`` multi-line value or a TOML list of strings; a TOML inline table (which pytest hands
over as the text of a Python dict) works too.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable
from typing import Any

ALL_BACKENDS = "*"  # the key of options that apply to every backend


def _entries(value: str | Iterable[str]) -> list[str]:
    """Non-empty, non-comment lines of an ini value (a string, or a list of strings)."""
    lines = value.splitlines() if isinstance(value, str) else [str(v) for v in value]
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _as_dict(entries: list[str]) -> dict[str, Any] | None:
    """The dict of a TOML inline table, which pytest passes as ``str(dict)``; None if not one."""
    if len(entries) == 1 and entries[0].startswith("{"):
        try:
            value = ast.literal_eval(entries[0])
        except (ValueError, SyntaxError) as error:
            raise ValueError(f"cannot read {entries[0]!r} as a table: {error}") from None
        if isinstance(value, dict):
            return value
    return None


def number(text: Any, what: str, *, low: float = 0.0, high: float = math.inf) -> float:
    """``text`` as a finite float in [low, high]; ValueError naming ``what`` otherwise."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        bounds = f"from {low:g} to {high:g}" if math.isfinite(high) else f">= {low:g}"
        raise ValueError(f"{what} {text!r} must be a finite number {bounds}")
    return value


def whole_number(text: Any, what: str, *, low: int = 0) -> int:
    """``text`` as an int >= ``low``; ValueError naming ``what`` otherwise."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{what} {text!r} must be a whole number >= {low}") from None
    if value < low:
        raise ValueError(f"{what} {text!r} must be a whole number >= {low}")
    return value


def parse_tolerances(value: str | Iterable[str]) -> dict[str, tuple[float, float]]:
    """``NAME = ATOL, RTOL`` lines -> {name: (atol, rtol)}."""
    entries = _entries(value)
    table = _as_dict(entries)
    pairs = list(table.items()) if table is not None else []
    if table is None:
        for line in entries:
            name, sep, rest = line.partition("=")
            if not sep:
                name, sep, rest = line.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"{line!r} is not 'backend = atol, rtol'")
            pairs.append((name.strip(), rest))
    tolerances = {}
    for name, rest in pairs:
        parts = [p for p in re.split(r"[,\s]+", str(rest).strip(" []()")) if p] if not isinstance(rest, (list, tuple)) else list(rest)
        if len(parts) != 2:
            raise ValueError(f"{name} = {rest!r}: give two numbers, 'atol, rtol'")
        tolerances[str(name)] = (number(parts[0], f"{name} atol"), number(parts[1], f"{name} rtol"))
    return tolerances


def _option_value(text: Any) -> Any:
    """An option value: bool, int, float, None or the text itself."""
    if not isinstance(text, str):
        return text
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text.strip())
        except ValueError:
            pass
    return text.strip()


def _key_values(text: str, line: str) -> dict[str, Any]:
    options = {}
    for part in (p.strip() for p in re.split(r"[,;]", text) if p.strip()):
        key, sep, raw = part.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"{line!r}: {part!r} is not 'option=value'")
        options[key.strip()] = _option_value(raw)
    return options


def parse_backend_options(value: str | Iterable[str]) -> dict[str, dict[str, Any]]:
    """``[BACKEND:] key=value, key=value`` lines -> {backend or "*": {key: value}}.

    A line without ``BACKEND:`` applies to every backend (key ``"*"``); values are read as bool, int,
    float, None or text.
    """
    entries = _entries(value)
    table = _as_dict(entries)
    result: dict[str, dict[str, Any]] = {}
    if table is not None:
        for name, options in table.items():
            if isinstance(options, dict):
                result[str(name)] = {str(k): _option_value(v) for k, v in options.items()}
            elif "=" in str(options):
                result[str(name)] = _key_values(str(options), f"{name} = {options}")
            else:  # {threads = 1}: a top-level option for every backend
                result.setdefault(ALL_BACKENDS, {})[str(name)] = _option_value(options)
        return result
    for line in entries:
        head, sep, rest = line.partition(":")
        if sep and "=" not in head:
            name, text = head.strip(), rest
        else:
            name, text = ALL_BACKENDS, line
        result.setdefault(name, {}).update(_key_values(text, line))
    return result


def options_for(table: dict[str, dict[str, Any]], backend: str) -> dict[str, Any]:
    """The options of ``backend``: the ``*`` entry, overridden by the backend's own."""
    return {**table.get(ALL_BACKENDS, {}), **table.get(backend, {})}
