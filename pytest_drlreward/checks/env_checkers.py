"""Gymnasium's and stable-baselines3's own env checkers, run so that their findings fail a test.

Gymnasium's ``check_env`` raises on API violations and warns on softer problems (an observation
outside its space, a non-deterministic reset); :func:`run_gymnasium_checker` turns both into
:class:`EnvCheckerError` unless ``warnings_fail=False``. stable-baselines3's ``check_env`` warns
mostly with advice (e.g. normalise a Box action space), so :func:`run_sb3_checker` fails only on its
errors and returns the advice. Warnings a project filters out (pytest's ``filterwarnings``) are not seen.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from pytest_drlreward.checks._format import CheckError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class EnvCheckerError(CheckError):
    """An env checker found a problem; ``report`` holds the checker's findings (a list of texts)."""


def _text(warning: warnings.WarningMessage) -> str:
    return _ANSI.sub("", str(warning.message)).strip()


def _run(checker: Any, env: Any, who: str) -> list[str]:
    name = type(env.unwrapped).__name__
    with warnings.catch_warnings(record=True) as caught:
        try:
            checker()
        except Exception as error:  # the checkers raise AssertionError and others with their own message
            raise EnvCheckerError(f"{who} fails on {name}: {type(error).__name__}: {error}",
                                  [f"{type(error).__name__}: {error}"]) from error
    return [_text(w) for w in caught]


def run_gymnasium_checker(env: Any, *, warnings_fail: bool = True, skip_render_check: bool = True) -> list[str]:
    """Run ``gymnasium.utils.env_checker.check_env`` on ``env.unwrapped``; return its warnings.

    Raises :class:`EnvCheckerError` on an error, and on any warning when ``warnings_fail``. The env is
    not closed (Gymnasium's close check builds another from the env's spec, when it has one).
    """
    from gymnasium.utils.env_checker import check_env

    found = _run(lambda: check_env(env.unwrapped, skip_render_check=skip_render_check), env, "Gymnasium's check_env")
    if warnings_fail and found:
        listed = "\n".join(f"  - {text}" for text in found)
        raise EnvCheckerError(f"Gymnasium's check_env warns about {type(env.unwrapped).__name__}:\n{listed}", found)
    return found


def run_sb3_checker(env: Any, *, skip_render_check: bool = True) -> list[str]:
    """Run stable-baselines3's ``check_env`` on ``env``; return its advice; :class:`EnvCheckerError` on an error."""
    from stable_baselines3.common.env_checker import check_env

    return _run(lambda: check_env(env, warn=True, skip_render_check=skip_render_check), env, "stable-baselines3's check_env")
