"""The readers of the plugin settings that need more than their own text (``Setting.reader`` names one):
the env spec, the classifier directory, the reference and the candidates, the input keys, the rollout
size, labelled images, backend options and tolerances, the policy, and the path options.

Each takes the run's reading (``options._Reading``: ``raw``, ``parsed``, ``get``, ``error``) and the
setting's row, and returns the parsed value (a ``pytest.UsageError`` naming the value otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_drlreward.backends import CANDIDATE_NAMES
from pytest_drlreward.classifier.directory import METADATA_FILE
from pytest_drlreward.env.spec import EnvSpecError, check_env_spec
from pytest_drlreward.plugin.setting_table import DEFAULT_BACKENDS, LABELLED_IMAGES_FILE, Setting, relative_to
from pytest_drlreward.util.atomic import check_writable
from pytest_drlreward.util.settings import parse_backend_options, parse_tolerances

_Reading = Any  # options._Reading (not imported: options imports this module when it reads)


def _env(reading: _Reading, row: Setting) -> str | None:
    """The env spec's text; the checked :class:`EnvSpec` goes to the derived ``env_spec`` field."""
    reading.values.update(env_spec=None)
    value = reading.raw(row.name)
    if value.text is None:
        return None
    try:
        spec = check_env_spec(value.text, _trust(reading))
    except EnvSpecError as error:
        raise pytest.UsageError(f"{error} ({value.origin})") from None
    reading.values.update(env_spec=spec)
    return spec.text


def _configured_backends(reading: _Reading) -> tuple[str, ...] | None:
    """The backend names as written (checked against the registry), or None when not configured."""
    value = reading.raw("backends")
    if value.text is None:
        return None
    names = [name.strip() for name in re.split(r"[,\s]+", value.text) if name.strip()]
    unknown = [name for name in names if name not in CANDIDATE_NAMES]
    if unknown or not names:
        named = ", ".join(map(repr, unknown)) or "(none given)"
        raise reading.error("backends", f"unknown backend {named}; allowed: {', '.join(CANDIDATE_NAMES)}", value)
    return tuple(dict.fromkeys(names))


def _model_dir(reading: _Reading, row: Setting) -> Path | None:
    """The classifier directory's path; its checked ``ModelDir`` goes to the derived ``model`` field."""
    reading.values.update(model=None, decision=None)
    value = reading.raw(row.name)
    if value.text is None:
        return None
    path = relative_to(value.base, value.text)
    if not path.is_dir():
        raise reading.error(row.name, f"directory {path} does not exist", value)
    if not (path / METADATA_FILE).is_file():
        raise reading.error(row.name, f"{path} has no {METADATA_FILE}; write the directory with "
                                      f"pytest_drlreward.export_classifier", value)
    from pytest_drlreward.plugin.model_settings import TorchUse
    from pytest_drlreward.plugin.preflight import check_model_dir, check_variants

    try:
        torch_use = TorchUse(reading.raw("reference").text, _configured_backends(reading))
        directory = check_model_dir(path, reading.get("trust_code"), _trust(reading), torch_use)
        check_variants(directory, _configured_backends(reading) or DEFAULT_BACKENDS)
    except ValueError as error:  # ModelDirError names the file
        raise reading.error(row.name, str(error), value) from None
    reading.values.update(model=directory, decision=directory.decision.describe())
    return path


def _trust(reading: _Reading, model_dir: Path | None = None) -> Any:
    """Whose code the settings may name (``pytest_drlreward.util.allowlist``): the project (rootdir, invocation
    directory, ``pythonpath``) and ``drl_trusted_modules``."""
    from pytest_drlreward.util.allowlist import Trust, project_roots

    config = reading.config
    return Trust(reading.get("trusted_modules"), project_roots([config.rootpath, config.invocation_params.dir]),
                 model_dir, bool(reading.get("trust_code")))


def _model(reading: _Reading) -> Any:
    reading.get("model")
    return reading.values["model"]


def _reference(reading: _Reading, row: Setting) -> str:
    """The reference name or 'module:function'; why it was chosen goes to ``reference_reason``."""
    from pytest_drlreward.plugin.model_settings import choose_reference

    value = reading.raw(row.name)
    try:
        reference, reading.values["reference_reason"] = choose_reference(value.text, _model(reading),
                                                                         f"drl_reference {value.origin}")
        if ":" in reference:  # a callable: the allowlist rule, nothing imported
            from pytest_drlreward.util.allowlist import check_reference

            check_reference(reference, "drl_reference", _trust(reading, reading.get("model")))
    except ValueError as error:
        raise reading.error(row.name, str(error), value) from None
    return reference


def _backends(reading: _Reading, row: Setting) -> tuple[str, ...]:
    """The candidates: as configured, or by default every backend the directory can run but the reference."""
    from pytest_drlreward.plugin.model_settings import candidate_backends

    configured, reference, value = _configured_backends(reading), reading.get("reference"), reading.raw(row.name)
    try:
        candidates = candidate_backends(configured, reference, _model(reading)) or configured or DEFAULT_BACKENDS
    except ValueError as error:
        raise reading.error(row.name, str(error), value) from None
    others = tuple(name for name in candidates if name != reference)
    if reference in candidates and reading.raw("reference").text is None and others:
        # the reference fell back to a candidate (e.g. torch is not installed): that candidate is the reference now
        reading.values["reference_reason"] += f"; {reference} is then the reference, not also a candidate"
        return others
    if reference in candidates:
        raise reading.error(row.name, f"{reference!r} is the reference every backend is compared with (drl_reference); "
                                      f"comparing it with itself proves nothing: list only the other backends", value)
    return candidates


def _input_keys(reading: _Reading, row: Setting) -> dict[str, str]:
    from pytest_drlreward.plugin.model_settings import parse_input_keys

    return reading.parsed(row.name, lambda text: parse_input_keys(text, _model(reading)), {})


def _fidelity_steps(reading: _Reading, row: Setting) -> int:
    import math

    from pytest_drlreward.classifier.bounds import check_rollout_size
    from pytest_drlreward.plugin.setting_table import positive_count

    steps = reading.parsed(row.name, positive_count, row.default)
    directory = _model(reading)
    per_step = None if directory is None else (sum(math.prod(spec.item_shape) for spec in directory.inputs),)
    try:
        check_rollout_size(steps, per_step, "the rollout")
    except ValueError as error:
        raise reading.error(row.name, str(error)) from None
    return steps


def _labelled_images(reading: _Reading, row: Setting) -> Path | None:
    value, model_dir, directory = reading.raw(row.name), reading.get("model"), _model(reading)
    if value.text is None:
        path = model_dir / LABELLED_IMAGES_FILE if model_dir is not None else None
        if path is None or not path.is_file():
            return path
    else:
        path = relative_to(value.base, value.text)
        if not path.is_file():
            raise reading.error(row.name, f"file {path} does not exist", value)
    from pytest_drlreward.checks.labelled import check_labelled_file

    try:
        count = check_labelled_file(path, directory.image_shape if directory is not None and len(directory.inputs) == 1
                                    else None)
    except ValueError as error:
        raise reading.error(row.name, str(error), value) from None
    if count == 0 and "labelled" not in reading.get("allow_unverified"):  # accepted: the tests skip with the reason
        from pytest_drlreward.checks.labelled import empty_labelled_gap
        from pytest_drlreward.plugin.verdicts import accept_hint

        gap = empty_labelled_gap(path)
        raise reading.error(row.name, f"{gap}; {accept_hint(gap.checks)}", value)
    return path


def _backend_options(reading: _Reading, row: Setting) -> dict[str, dict[str, Any]]:
    table = reading.parsed(row.name, parse_backend_options, {})
    if table:
        from pytest_drlreward.plugin.preflight import check_backend_options

        try:
            check_backend_options(table, reading.get("backends"))
        except ValueError as error:
            raise reading.error(row.name, str(error)) from None
    return table


def _tolerances(reading: _Reading, row: Setting) -> dict[str, tuple[float, float]]:
    table = reading.parsed(row.name, parse_tolerances, {})
    unknown = [name for name in table if name not in CANDIDATE_NAMES]
    if unknown:
        raise reading.error(row.name, f"unknown backend {unknown[0]!r}; allowed: {', '.join(CANDIDATE_NAMES)}")
    return table


def _policy(reading: _Reading, row: Setting) -> str | None:
    """The policy spec, checked without importing or unpickling; its base directory goes to ``policy_base``."""
    reading.values["policy_base"] = None
    value = reading.raw(row.name)
    if value.text is None:
        return None
    text = value.text.strip()
    from pytest_drlreward.env.policies import PolicyError, check_policy_spec

    try:
        check_policy_spec(text, value.base, _trust(reading, reading.get("model")))  # nothing imported or unpickled
    except PolicyError as error:
        raise reading.error(row.name, str(error), value) from None
    reading.values["policy_base"] = value.base
    return text


def _path(reading: _Reading, row: Setting) -> tuple[Path | None, str]:
    value = reading.config.getoption("drl_" + row.name)
    return ((reading.config.invocation_params.dir / value) if value else None), f"{row.flag}={value}"


def _output_file(reading: _Reading, row: Setting) -> Path | None:
    """An output path option, checked at start: its directory exists (it is not created silently) and
    takes a new file, and the path itself is not a directory (for files)."""
    path, flag = _path(reading, row)
    if path is None:
        return None
    if not path.parent.is_dir():
        raise pytest.UsageError(f"{flag}: directory {path.parent} does not exist; create it first")
    if row.name != "golden_save" and path.is_dir():
        raise pytest.UsageError(f"{flag}: {path} is a directory; give a file name")
    if row.name == "golden_save" and (path.is_symlink() or (path.exists() and not path.is_dir())):
        raise pytest.UsageError(f"{flag}: {path} is {'a symlink' if path.is_symlink() else 'a file'}; give a directory "
                                f"to save the golden outputs in (it is created if missing)")
    _writable(path if row.name == "golden_save" and path.is_dir() else path.parent, flag)
    return path


def _output_dir(reading: _Reading, row: Setting) -> Path | None:
    """An output directory option, checked at start: it exists and takes new files."""
    path, flag = _path(reading, row)
    if path is None:
        return None
    if not path.is_dir():
        raise pytest.UsageError(f"{flag}: directory {path} does not exist; create it first")
    _writable(path, flag)
    taken = sorted(p.name for p in path.glob("drl_*") if p.is_symlink() or not p.is_dir())
    if taken:  # the run writes directories drl_false_goals_<backend>, drl_replay there
        raise pytest.UsageError(f"{flag}: {path / taken[0]} is a file (or a symlink) where the run writes a directory "
                                f"of that name; remove it or choose another directory")
    return path


def _writable(directory: Path, flag: str) -> None:
    try:
        check_writable(directory)
    except OSError as error:
        raise pytest.UsageError(f"{flag}: {error}") from None


def _input(kind: str) -> Callable[[_Reading, Setting], Path | None]:
    def read(reading: _Reading, row: Setting) -> Path | None:
        path, flag = _path(reading, row)
        if path is not None and not (path.is_dir() if kind == "directory" else path.is_file()):
            raise pytest.UsageError(f"{flag}: {kind} {path} does not exist")
        if path is not None and row.name == "timing_compare":  # checked at start, not after the tests ran
            import json

            from pytest_drlreward.timing import check_baseline

            try:
                check_baseline(json.loads(path.read_text()))
            except (ValueError, OSError) as error:
                raise pytest.UsageError(f"{flag}: {error}") from None
        return path

    return read


READERS: dict[str, Callable[[_Reading, Setting], Any]] = {
    "env": _env, "model": _model_dir, "reference": _reference, "backends": _backends, "input_keys": _input_keys,
    "fidelity_steps": _fidelity_steps, "labelled_images": _labelled_images, "backend_options": _backend_options,
    "parity_tolerances": _tolerances, "policy": _policy, "output_file": _output_file, "output_dir": _output_dir,
    "input_file": _input("file"), "input_dir": _input("directory"),
}
