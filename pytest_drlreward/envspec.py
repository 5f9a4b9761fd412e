"""Environment specs: what ``drl_env`` may name, how to check it cheaply, and how to build from it.

A spec is one of

- a registered Gymnasium id, e.g. ``"CartPole-v1"`` (built with ``gymnasium.make``);
- a Gymnasium id behind the module that registers it, e.g. ``"panda_env:PandaHover-v0"``;
- a factory, ``"module:function"``, called with the keyword arguments given to ``make``.

Only the standard library is imported at module level; Gymnasium and the named modules are imported
when an env is built (checking a spec imports Gymnasium, and at most the parents of the named module).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any


class EnvSpecError(ValueError):
    """A ``drl_env`` value that does not name an environment."""


@dataclass(frozen=True)
class EnvSpec:
    """A parsed ``drl_env`` value: ``module`` ("" for a plain id) and ``name`` (an id or a function)."""

    text: str
    module: str
    name: str

    @property
    def is_factory(self) -> bool:
        """True for ``module:function`` (the part after the colon is a Python name, not an env id)."""
        return bool(self.module) and all(part.isidentifier() for part in self.name.split("."))


def parse_env_spec(text: str) -> EnvSpec:
    """Split ``text`` into module and name; raise :class:`EnvSpecError` for an empty part."""
    text = text.strip()
    module, colon, name = text.rpartition(":")
    if not name or (colon and not module):
        raise EnvSpecError(f"drl_env {text!r} is not a Gymnasium id, 'module:Id-v0' or 'module:factory'")
    return EnvSpec(text, module, name)


def check_env_spec(text: str) -> EnvSpec:
    """Check that ``text`` can name an env without importing the env's module; return the spec.

    A module must be findable (``importlib.util.find_spec``); a plain id must be registered with
    Gymnasium.
    """
    spec = parse_env_spec(text)
    if spec.module:
        try:
            found = importlib.util.find_spec(spec.module)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise EnvSpecError(f"drl_env {text!r}: cannot find module {spec.module!r} (is it installed, or on "
                               f"the `pythonpath` ini setting?)")
    else:
        from gymnasium.envs.registration import registry

        if spec.name not in registry:
            raise EnvSpecError(f"drl_env {text!r} is not a registered Gymnasium id; name the module that "
                               f"registers it ('module:{spec.name}') or a factory ('module:function')")
    return spec


def make_env(text: str, **kwargs: Any) -> Any:
    """Build one env from the spec ``text``, passing ``kwargs`` to ``gymnasium.make`` or the factory."""
    spec = parse_env_spec(text)
    if spec.is_factory:
        module = importlib.import_module(spec.module)
        factory = module
        try:
            for part in spec.name.split("."):
                factory = getattr(factory, part)
        except AttributeError:
            factory = None
        if callable(factory):
            return factory(**kwargs)
        # No such function: let Gymnasium try it as "module:Id" (an id without a version).
    import gymnasium

    return gymnasium.make(spec.text, **kwargs)
