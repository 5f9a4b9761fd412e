"""The plugin's options and ini keys (declared in ``setting_table.SETTINGS``), read and checked once into a
:class:`~pytest_drlreward.plugin.config.DrlConfig`.

Each setting has an ini key (the project's default) and a ``--drl-*`` option (which wins). At start
the values are checked, the classifier directory included (metadata, sha256 of every file, that its
``torch_factory`` may run) and ``drl_env``'s factory or id: a bad value is one ``pytest.UsageError``
naming the value and where it was set. A row's ``parse`` reads a plain value; the readers below serve
the settings that need others (``setting_readers.READERS``). Only the standard library, pytest and light parts of this
package are imported here (numpy when a classifier directory or labelled images are configured).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_drlreward.defaults import DEFAULT_ATOL, DEFAULT_RTOL  # noqa: F401  (re-exported)
from pytest_drlreward.plugin.config import DrlConfig
from pytest_drlreward.plugin.setting_table import (  # noqa: F401  (DEFAULT_* re-exported)
    DEFAULT_BACKENDS,
    DEFAULT_MAX_ACCURACY_DROP,
    DEFAULT_MIN_ACCURACY,
    DEFAULT_MIN_ARGMAX_AGREEMENT,
    DEFAULT_TIMING_MARGIN,
    LABELLED_IMAGES_FILE,
    SETTINGS,
    Setting,
    relative_to,
    setting,
)

CONFIG_KEY = pytest.StashKey[DrlConfig]()  # config.stash[CONFIG_KEY]: the run's DrlConfig


def add_options(parser: pytest.Parser) -> None:
    """Register the ``drlreward`` option group and the ``drl_*`` ini keys, one per row of ``SETTINGS``."""
    group = parser.getgroup("drlreward", "learned-reward checks (pytest-drlreward)")
    for row in SETTINGS:
        dest = "drl_" + row.name
        if row.kind == "flag":
            group.addoption(row.flag, dest=dest, action="store_true", default=False, help=row.help)
            continue
        if not row.has_ini:
            group.addoption(row.flag, dest=dest, default=None, metavar=row.metavar, help=row.help)
            continue
        separated = "; entries separated by ';'" if row.kind == "linelist" else ""
        group.addoption(row.flag, dest=dest, default=None, metavar=row.metavar,
                        help=f"{row.help_text()}; overrides ini {row.ini_key}{separated}")
        parser.addini(row.ini_key, row.help_text(), type=row.kind, default=[] if row.kind in ("args", "linelist") else "")


@dataclass(frozen=True)
class _Value:
    """A setting's raw text, where it was set (for messages) and the directory relative paths start from."""

    text: str | None
    origin: str
    base: Path
    from_command_line: bool = False


class _Reading:
    """Reads each setting once, on first ask (a reader may ask for the settings it needs), into ``values``."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.values: dict[str, Any] = {}  # DrlConfig field -> value, the derived fields included

    def raw(self, name: str) -> _Value:
        row, config = setting(name), self.config
        value = config.getoption("drl_" + name)
        if value is not None:
            return _Value(str(value), "on the command line", config.invocation_params.dir, from_command_line=True)
        if not row.has_ini:
            return _Value(None, "", config.invocation_params.dir)
        value = config.getini(row.ini_key)
        if isinstance(value, list):
            value = "\n".join(value) if row.kind == "linelist" else ",".join(value)
        base = config.inipath.parent if config.inipath else config.rootpath
        origin = f"in {config.inipath}" if config.inipath else "in the ini file"
        return _Value(str(value) if value not in ("", None) else None, origin, base)

    def error(self, name: str, problem: str, value: _Value | None = None) -> pytest.UsageError:
        value = value or self.raw(name)
        return pytest.UsageError(f"drl_{name} {value.text!r} ({value.origin}): {problem}")

    def parsed(self, name: str, parse: Callable[[str], Any], default: Any) -> Any:
        """``parse(text)`` of setting ``name`` (``default`` when unset); a ValueError becomes a usage error."""
        value = self.raw(name)
        if value.text is None:
            return default
        on_command_line = setting(name).kind == "linelist" and value.from_command_line
        text = value.text.replace(";", "\n") if on_command_line else value.text  # entries separated by ';' there
        try:
            return parse(text)
        except ValueError as error:
            raise self.error(name, str(error), value) from None

    def get(self, name: str) -> Any:
        """The parsed value of setting ``name`` (read now if not yet)."""
        row = setting(name)
        if row.attr not in self.values:
            if row.reader is not None:
                from pytest_drlreward.plugin.setting_readers import READERS

                self.values[row.attr] = READERS[row.reader](self, row)
            elif row.kind == "flag":
                self.values[row.attr] = bool(self.config.getoption("drl_" + name))
            else:
                self.values[row.attr] = self.parsed(name, row.parse or str, row.default)
        return self.values[row.attr]


def read_config(config: pytest.Config) -> DrlConfig:
    """Read and check every setting; raise ``pytest.UsageError`` naming the first bad value."""
    reading = _Reading(config)
    _project_on_path(reading)
    for name in ("backends", "model", "trust_code"):  # the classifier, reference and candidates first, as before
        reading.get(name)
    for row in SETTINGS:
        reading.get(row.name)
    return DrlConfig(**reading.values)


def _project_on_path(reading: _Reading) -> None:
    """The project's modules named by settings are importable under plain ``pytest`` too (``project_path``)."""
    from pytest_drlreward.plugin.project_path import add_project_to_path, factory_module, top_module

    values = [reading.raw(name) for name in ("env", "reference", "policy", "model")]
    model = values[-1]
    modules = [top_module(value.text) for value in values[:-1]]
    modules.append(factory_module(relative_to(model.base, model.text) if model.text else None))
    roots = [value.base for value in values] + [reading.config.rootpath, reading.config.invocation_params.dir]
    add_project_to_path(modules, roots)


def xdist_workers() -> int:
    """How many pytest-xdist workers run (0 without xdist)."""
    try:
        return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    except ValueError:
        return 0
