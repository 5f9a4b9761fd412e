"""Environment specs: what ``drl_env`` may name, how to check it cheaply, and how to build from it.

A spec is one of

- a registered Gymnasium id, e.g. ``"CartPole-v1"`` (built with ``gymnasium.make``);
- a Gymnasium id behind the module that registers it, e.g. ``"panda_env:PandaHover-v0"``;
- a factory, ``"module:function"``, called with the keyword arguments given to ``make``.

Only the standard library is imported at module level; Gymnasium and the named modules are imported
when an env is built. Checking a spec (at pytest start) imports Gymnasium; a factory is checked in
its module's source without running the module; a ``module:Id-v0`` spec imports the module, which
registers the id, and checks that it did.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from pytest_drlreward.util.resolve import attribute
from pytest_drlreward.util.sourcecheck import lookup


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


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _registered(env_id: str) -> bool:
    from gymnasium.envs.registration import registry

    return env_id in registry


def _close_ids(env_id: str) -> str:
    from gymnasium.envs.registration import registry

    close = difflib.get_close_matches(env_id, list(registry), n=3)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""


def _check_registered_by(spec: EnvSpec) -> None:
    """Import ``spec.module`` (it registers ids) and check ``spec.name`` is registered."""
    try:
        importlib.import_module(spec.module)
    except Exception as error:  # the user's module may raise anything on import
        raise EnvSpecError(f"drl_env {spec.text!r}: importing {spec.module!r} failed: {type(error).__name__}: {error}") from None
    if not _registered(spec.name):
        raise EnvSpecError(f"drl_env {spec.text!r}: importing {spec.module!r} does not register a Gymnasium id "
                           f"{spec.name!r}{_close_ids(spec.name)}")


def check_env_spec(text: str, trust: Any = None) -> EnvSpec:
    """Check that ``text`` names an env; return the spec (:class:`EnvSpecError` saying what is wrong otherwise).

    A plain id must be registered with Gymnasium. For ``module:function`` the module must exist and its
    source must define the function (checked without running it; when the source cannot tell, the
    first build decides); with ``trust`` (``pytest_drlreward.util.allowlist.Trust``) the function must pass the
    allowlist rule too. ``module:Id-v0`` imports the module and requires the id to be registered.
    """
    spec = parse_env_spec(text)
    if not spec.module:
        if not _registered(spec.name):
            raise EnvSpecError(f"drl_env {text!r} is not a registered Gymnasium id; name the module that "
                               f"registers it ('module:{spec.name}') or a factory ('module:function')"
                               f"{_close_ids(spec.name)}")
        return spec
    found = lookup(spec.module, spec.name) if spec.is_factory else None
    if not (found.module_found if found is not None else _module_exists(spec.module)):
        raise EnvSpecError(f"drl_env {text!r}: cannot find module {spec.module!r} (is it installed, or on "
                           f"the `pythonpath` ini setting?)")
    if found is not None and found.found is not False:
        if trust is not None:
            from pytest_drlreward.util.allowlist import check_reference

            check_reference(spec.text, "drl_env", trust, EnvSpecError)
        return spec
    if found is not None:  # no such function: it may still be an id registered by the module
        try:
            _check_registered_by(spec)
            return spec
        except EnvSpecError:
            hint = f"; did you mean {', '.join(map(repr, found.suggestions))}?" if found.suggestions else ""
            raise EnvSpecError(f"drl_env {text!r}: {spec.module} ({found.path}) defines no {spec.name.split('.')[0]!r} "
                               f"and registers no such Gymnasium id{hint}") from None
    _check_registered_by(spec)
    return spec


def _parsed(spec: EnvSpec | str) -> EnvSpec:
    return spec if isinstance(spec, EnvSpec) else parse_env_spec(spec)


def _factory(spec: EnvSpec) -> Any:
    """What a ``module:function`` spec names (its module imported), or None when the module defines no such
    name: then the spec is an id the module registers."""
    try:
        return attribute(importlib.import_module(spec.module), spec.name)
    except AttributeError:
        return None


def accepts_keyword(spec: EnvSpec | str, keyword: str) -> bool:
    """Whether building from ``spec`` can take ``keyword`` (e.g. ``render_mode``): always for a Gymnasium id
    (``gymnasium.make`` takes it); for a factory, when its signature names it or takes ``**kwargs``."""
    import inspect

    spec = _parsed(spec)
    factory = _factory(spec) if spec.is_factory else None
    if factory is None:
        return True
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return True  # a callable without a signature: let it decide
    return any(p.name == keyword or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def make_env(spec: EnvSpec | str, **kwargs: Any) -> Any:
    """Build one env from ``spec`` (an :class:`EnvSpec`, or its text), passing ``kwargs`` to
    ``gymnasium.make`` or the factory."""
    spec = _parsed(spec)
    factory = _factory(spec) if spec.is_factory else None
    if callable(factory):
        return factory(**kwargs)
    import gymnasium  # a plain id, or no such function: Gymnasium tries it as "module:Id"

    return gymnasium.make(spec.text, **kwargs)
