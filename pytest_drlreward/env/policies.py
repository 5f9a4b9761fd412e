"""Policies that drive rollouts: seeded random actions, a Python callable, or a saved SB3 agent.

A policy is a callable ``policy(obs) -> action``. :func:`load_policy` reads the text form used by
the ``drl_policy`` ini key: ``"package.module:function"`` (a callable taking the observation) or the
path of a stable-baselines3 ``.zip`` (loaded on the CPU without unpickling what can be rebuilt, see
``sb3_agent``; actions taken deterministically; needs stable-baselines3). An SB3 agent from elsewhere
is code (pickle): see docs/trust.md. No pytest here; stable-baselines3 is imported only to load an agent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pytest_drlreward.util.allowlist import Trust

Policy = Callable[[Any], Any]


class PolicyError(ValueError):
    """A policy spec that names nothing loadable."""


def random_policy(action_space: Any, seed: int = 0) -> Policy:
    """Actions sampled from a copy of ``action_space`` seeded with ``seed`` (the env's own RNG is untouched)."""
    space = copy.deepcopy(action_space)
    space.seed(seed)

    def policy(obs: Any) -> Any:
        return space.sample()

    policy.description = f"random actions (seed {seed})"  # type: ignore[attr-defined]
    return policy


def _import_callable(spec: str, trusted_modules: Iterable[str] = ()) -> Policy:
    from pytest_drlreward.util.allowlist import resolve_trusted

    return resolve_trusted(spec, "policy", Trust(tuple(trusted_modules)), PolicyError)


def sb3_algorithm(path: str | Path) -> Any:
    """The stable-baselines3 (or sb3-contrib) algorithm class that saved the agent at ``path`` (read from its
    JSON; nothing is unpickled)."""
    from pytest_drlreward.env.sb3_agent import AgentFileError, algorithm_for, policy_class_of, read_agent_data

    try:
        data = read_agent_data(path)
        return algorithm_for(policy_class_of(data, Path(path)), data)
    except AgentFileError as error:
        raise PolicyError(f"policy {str(path)!r}: {error}") from None


def sb3_policy(path: str | Path, algorithm: Any = None, spaces: tuple[Any, Any] | None = None,
               trust_code: bool = False) -> Policy:
    """The deterministic policy of a saved stable-baselines3 agent, loaded without unpickling what can be rebuilt
    (``pytest_drlreward.env.sb3_agent``); ``spaces`` (observation, action) are the env's, else read from the file."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"policy {str(path)!r}: no such file")
    try:
        from pytest_drlreward.env.sb3_agent import AgentFileError, load_agent_safely
    except ImportError as error:  # pragma: no cover (numpy is always there)
        raise PolicyError(str(error)) from error
    try:
        agent = load_agent_safely(path, algorithm, *(spaces or (None, None)), trust_code=trust_code)
    except ImportError as error:
        raise PolicyError(f"policy {str(path)!r} is an SB3 agent, which needs stable-baselines3: {error}") from error
    except AgentFileError as error:
        raise PolicyError(f"policy {str(path)!r}: {error}") from None

    def policy(obs: Any) -> Any:
        action, _ = agent.predict(obs, deterministic=True)
        return action

    policy.description = f"{type(agent).__name__} agent {path.name}"  # type: ignore[attr-defined]
    return policy


def load_policy(spec: str, base: Path | None = None, spaces: tuple[Any, Any] | None = None,
                trust_code: bool = False, trusted_modules: Iterable[str] = ()) -> Policy:
    """The policy named by ``spec``: an SB3 ``.zip`` path (relative to ``base``; loaded with ``spaces``, see
    :func:`sb3_policy`) or ``"module:function"`` (allowed by ``pytest_drlreward.util.allowlist``: your project's code
    or ``trusted_modules``)."""
    text = str(spec).strip()
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if text.endswith(".zip") or path.is_file():
        return sb3_policy(path, spaces=spaces, trust_code=trust_code)
    if ":" not in text:
        raise PolicyError(f"policy {text!r} is neither an SB3 agent file (.zip) nor 'module:function'")
    return _import_callable(text, trusted_modules)


def check_policy_spec(spec: str, base: Path | None = None, trust: Trust | None = None) -> None:
    """Check a ``drl_policy`` without importing or unpickling anything: an SB3 ``.zip`` must be a readable agent,
    ``module:function`` a function (or class) allowed by ``pytest_drlreward.util.allowlist`` taking the observation.
    PolicyError naming the problem otherwise."""
    from pytest_drlreward.util.allowlist import check_reference

    text = str(spec).strip()
    if text.endswith(".zip"):
        from pytest_drlreward.env.sb3_agent import AgentFileError, check_agent_data, read_agent_data

        path = Path(text).expanduser()
        path = base / path if base is not None and not path.is_absolute() else path
        if not path.is_file():
            raise PolicyError(f"SB3 agent file {path} does not exist")
        try:
            check_agent_data(read_agent_data(path), path)
        except AgentFileError as error:
            raise PolicyError(str(error)) from None
        return
    if ":" not in text:
        raise PolicyError("give an SB3 agent file (.zip) or 'module:function'")
    location = check_reference(text, "policy", trust or Trust(), PolicyError)
    if location.origin is None or "." in location.attribute:
        return
    node = _function(location)
    if node is not None and not (node.args.posonlyargs or node.args.args or node.args.vararg):
        raise PolicyError(f"{text} ({location.origin}, line {node.lineno}) takes no argument; a policy is called "
                          f"as policy(observation) and returns an action")


def _function(location: Any) -> Any:
    """The top-level ``def`` of a checked reference, or None (a class, or defined in a block)."""
    import ast

    tree = ast.parse(location.origin.read_text(encoding="utf-8"))
    found = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == location.attribute:
            found = node
    return found


def describe(policy: Policy | None) -> str:
    """A short name for a policy, for reports."""
    if policy is None:
        return "random actions"
    return str(getattr(policy, "description", getattr(policy, "__qualname__", type(policy).__name__)))
