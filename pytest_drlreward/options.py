"""The plugin's command-line options and ini keys, read and checked once into a :class:`DrlConfig`.

Each setting has an ini key (the project's default) and a ``--drl-*`` option (which wins). At start
the values are checked, the classifier directory included (metadata, sha256 of every file, that its
``torch_factory`` exists) and ``drl_env``'s factory or id: a bad value is one ``pytest.UsageError``
naming the value and where it was set. Only the standard library, pytest and light parts of this
package are imported here (numpy when a classifier directory or labelled images are configured).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_drlreward.atomic import check_writable
from pytest_drlreward.backends import BACKEND_NAMES, CANDIDATE_NAMES, REFERENCE_BACKEND, is_quantized
from pytest_drlreward.classifier.directory import METADATA_FILE
from pytest_drlreward.defaults import (
    DEFAULT_ATOL,
    DEFAULT_FIDELITY_STEPS,
    DEFAULT_MAX_FALSE_GOAL_RATE,
    DEFAULT_MIN_GOALS,
    DEFAULT_MIN_RECALL,
    DEFAULT_RTOL,
    DEFAULT_SEARCH_STEPS,
)
from pytest_drlreward.envspec import EnvSpecError, check_env_spec
from pytest_drlreward.settings import number, options_for, parse_backend_options, parse_tolerances, whole_number

DEFAULT_BACKENDS = tuple(name for name in BACKEND_NAMES if name != REFERENCE_BACKEND)
DEFAULT_MIN_ACCURACY = 1.0
DEFAULT_MAX_ACCURACY_DROP = 0.02
DEFAULT_MIN_ARGMAX_AGREEMENT = 0.99
DEFAULT_TIMING_MARGIN = 0.5
LABELLED_IMAGES_FILE = "labelled_images.npz"  # looked for in the model directory unless drl_labelled_images


@dataclass(frozen=True)
class DrlConfig:
    """The plugin's settings for one pytest run (see the README's list of ini keys).

    ``env``/``model_dir``/``truth_key`` are ``None`` when not configured (tests needing them skip,
    saying which setting to give); ``backends`` are the candidates checked against the Torch reference.
    """

    env: str | None = None
    model_dir: Path | None = None
    labelled_images: Path | None = None
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    tolerances: dict[str, tuple[float, float]] = field(default_factory=dict)
    backend_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    truth_key: str | None = None
    min_recall: float = DEFAULT_MIN_RECALL
    max_false_goal_rate: float = DEFAULT_MAX_FALSE_GOAL_RATE
    min_goals: int = DEFAULT_MIN_GOALS
    fidelity_steps: int = DEFAULT_FIDELITY_STEPS
    fidelity_seed: int = 0
    policy: str | None = None
    policy_base: Path | None = None
    search_steps: int = DEFAULT_SEARCH_STEPS
    plots: Path | None = None
    min_accuracy: float = DEFAULT_MIN_ACCURACY
    max_accuracy_drop: float = DEFAULT_MAX_ACCURACY_DROP
    min_argmax_agreement: float = DEFAULT_MIN_ARGMAX_AGREEMENT
    run_slow: bool = False
    timing_json: Path | None = None
    timing_save: Path | None = None
    timing_compare: Path | None = None
    timing_margin: float = DEFAULT_TIMING_MARGIN
    golden_save: Path | None = None
    golden_compare: Path | None = None
    reference: str = REFERENCE_BACKEND
    reference_reason: str = "the default"
    decision: str | None = None  # the classifier directory's rule, e.g. "sigmoid > 0.85"
    input_keys: dict[str, str] = field(default_factory=dict)
    trust_code: bool = False

    def tolerance(self, backend: str) -> tuple[float, float]:
        """(atol, rtol) for ``backend``: its ``drl_parity_tolerances`` entry, else drl_parity_atol/rtol."""
        return self.tolerances.get(backend, (self.atol, self.rtol))

    def options(self, backend: str) -> dict[str, Any]:
        """Constructor options of ``backend`` from ``drl_backend_options``."""
        return options_for(self.backend_options, backend)

    @staticmethod
    def quantized(backend: str) -> bool:
        """Whether ``backend`` is judged by decisions (argmax agreement, accuracy budget), not tolerance."""
        return is_quantized(backend)


CONFIG_KEY = pytest.StashKey[DrlConfig]()  # config.stash[CONFIG_KEY]: the run's DrlConfig

# name: (metavar, ini type, help)
_SETTINGS: dict[str, tuple[str, str, str]] = {
    "env": ("ID_OR_SPEC", "string", "Gymnasium env to check: a registered id, 'module:Id-v0' or 'module:factory' "
                                    "(no default: env tests skip without it)"),
    "model": ("DIR", "string", "classifier directory (metadata.json, classifier.onnx, classifier.pt) written by "
                               "export_classifier (no default: backend tests skip without it)"),
    "labelled_images": ("NPZ", "string", f"labelled images (.npz with 'images' and 'labels', labels int or bool); "
                                         f"default: {LABELLED_IMAGES_FILE} in the model directory"),
    "backends": ("NAMES", "args", f"comma-separated reward backends compared with the Torch reference, of "
                                  f"{', '.join(CANDIDATE_NAMES)} (default: {','.join(DEFAULT_BACKENDS)})"),
    "parity_atol": ("FLOAT", "string", f"absolute tolerance of backend parity checks (default: {DEFAULT_ATOL:g})"),
    "parity_rtol": ("FLOAT", "string", f"relative tolerance of backend parity checks (default: {DEFAULT_RTOL:g})"),
    "parity_tolerances": ("TABLE", "linelist", "per-backend tolerances, one 'backend = atol, rtol' a line "
                                               "(others use drl_parity_atol/rtol)"),
    "backend_options": ("TABLE", "linelist", "backend constructor options, lines '[backend:] key=value, ...' "
                                             "(no backend: every backend), e.g. 'threads=1'"),
    "truth_key": ("KEY", "string", "info key holding the env's ground truth of the goal (e.g. true_goal); "
                                   "fidelity tests skip without it"),
    "min_recall": ("FRACTION", "string", f"reward fidelity: least goal recall (default {DEFAULT_MIN_RECALL})"),
    "max_false_goal_rate": ("FRACTION", "string", f"reward fidelity: largest share of non-goal steps called goal "
                                                  f"(default {DEFAULT_MAX_FALSE_GOAL_RATE})"),
    "fidelity_min_goals": ("N", "string", f"reward fidelity: goals the rollout must reach (default {DEFAULT_MIN_GOALS})"),
    "fidelity_steps": ("N", "string", f"steps of the rollout used for fidelity and decision parity "
                                      f"(default {DEFAULT_FIDELITY_STEPS})"),
    "fidelity_seed": ("N", "string", "seed of that rollout (default 0)"),
    "policy": ("SPEC", "string", "policy of that rollout: an SB3 agent .zip or 'module:function' (default: random actions)"),
    "search_steps": ("N", "string", f"reward fidelity: env steps of the search for false goals (a quarter) and for goal "
                                    f"states (default {DEFAULT_SEARCH_STEPS}; 0: no search)"),
    "min_accuracy": ("FRACTION", "string", f"least accuracy on the labelled images (default {DEFAULT_MIN_ACCURACY})"),
    "max_accuracy_drop": ("FRACTION", "string", f"quantized backends: accuracy they may lose against the reference "
                                                f"(default {DEFAULT_MAX_ACCURACY_DROP})"),
    "min_argmax_agreement": ("FRACTION", "string", f"quantized backends: least share of images whose decision matches "
                                                   f"the reference's (default {DEFAULT_MIN_ARGMAX_AGREEMENT})"),
    "reference": ("NAME_OR_SPEC", "string", "what the backends are compared with: torch, onnxruntime, openvino or a "
                                            "'module:function' callable (numpy inputs in, numpy outputs out); "
                                            "default: torch when the classifier directory has a torch_factory, "
                                            "else ONNX Runtime (else OpenVINO)"),
    "input_keys": ("TABLE", "linelist", "where the env supplies each classifier input: lines 'input_name = env_key' "
                                        "(a key of camera_images() or of a Dict observation; default: each "
                                        "input's env_key)"),
    "trust_code": ("BOOL", "string", "true: the classifier's torch_factory may be code inside its directory (it runs "
                                     "when the Torch reference loads; default false: such a directory is refused)"),
    "timing_margin": ("MARGIN", "string", f"--drl-timing-compare: how much a latency ratio may grow "
                                            f"(default {DEFAULT_TIMING_MARGIN}: a ratio may grow by half)"),
}
_PATH_OPTIONS = {
    "timing_json": "write the timing table's rows to PATH as JSON",
    "timing_save": "write a timing baseline (latency ratios to the reference) to PATH",
    "timing_compare": "compare latency ratios with the baseline at PATH; a ratio grown beyond drl_timing_margin fails the run",
    "golden_save": "save each backend's logits on the labelled images into directory PATH",
    "golden_compare": "compare each backend's logits on the labelled images with those saved in directory PATH",
    "plots": "write the threshold sweep's curve (PNG, needs matplotlib) and the false goals found into directory PATH",
}


def add_options(parser: pytest.Parser) -> None:
    """Register the ``drlreward`` option group and the ``drl_*`` ini keys."""
    group = parser.getgroup("drlreward", "learned-reward checks (pytest-drlreward)")
    for name, (metavar, ini_type, help_text) in _SETTINGS.items():
        flag = "--drl-" + name.replace("_", "-")
        group.addoption(flag, dest="drl_" + name, default=None, metavar=metavar,
                        help=f"{help_text}; overrides ini drl_{name}" + ("; entries separated by ';'" if ini_type == "linelist" else ""))
        parser.addini("drl_" + name, help_text, type=ini_type, default=[] if ini_type in ("args", "linelist") else "")
    group.addoption("--drl-run-slow", dest="drl_run_slow", action="store_true", default=False,
                    help="run tests marked slow (also run by selecting them with -m slow)")
    for name, help_text in _PATH_OPTIONS.items():
        group.addoption("--drl-" + name.replace("_", "-"), dest="drl_" + name, default=None, metavar="PATH", help=help_text)


@dataclass(frozen=True)
class _Value:
    """A setting's raw text, where it was set (for messages) and the directory relative paths start from."""

    text: str | None
    origin: str
    base: Path
    from_command_line: bool = False


def _raw(config: pytest.Config, name: str) -> _Value:
    value = config.getoption("drl_" + name)
    if value is not None:
        return _Value(str(value), "on the command line", config.invocation_params.dir, from_command_line=True)
    value = config.getini("drl_" + name)
    ini_type = _SETTINGS[name][1]
    if isinstance(value, list):
        value = "\n".join(value) if ini_type == "linelist" else ",".join(value)
    base = config.inipath.parent if config.inipath else config.rootpath
    origin = f"in {config.inipath}" if config.inipath else "in the ini file"
    return _Value(str(value) if value not in ("", None) else None, origin, base)


def _error(name: str, value: _Value, problem: str) -> pytest.UsageError:
    return pytest.UsageError(f"drl_{name} {value.text!r} ({value.origin}): {problem}")


def _env(config: pytest.Config) -> str | None:
    value = _raw(config, "env")
    if value.text is None:
        return None
    try:
        return check_env_spec(value.text).text
    except EnvSpecError as error:
        raise pytest.UsageError(f"{error} ({value.origin})") from None


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError("give true or false")
    return lowered in ("true", "1", "yes")


def _model_dir(config: pytest.Config, backends: tuple[str, ...], trust_code: bool = False) -> tuple[Path | None, Any]:
    """The classifier directory's path and its checked ``ModelDir`` (None, None when not configured)."""
    value = _raw(config, "model")
    if value.text is None:
        return None, None
    path = (value.base / Path(value.text).expanduser()).resolve()
    if not path.is_dir():
        raise _error("model", value, f"directory {path} does not exist")
    if not (path / METADATA_FILE).is_file():
        raise _error("model", value, f"{path} has no {METADATA_FILE}; write the directory with "
                                     f"pytest_drlreward.export_classifier")
    from pytest_drlreward.preflight import check_model_dir, check_variants

    try:
        directory = check_model_dir(path, trust_code)
        check_variants(directory, backends)
    except ValueError as error:  # ModelDirError names the file
        raise _error("model", value, str(error)) from None
    return path, directory


def _reference(config: pytest.Config, directory: Any) -> tuple[str, str]:
    """(reference name or 'module:function', why it was chosen) for this run."""
    from pytest_drlreward.model_settings import choose_reference

    value = _raw(config, "reference")
    try:
        return choose_reference(value.text, directory, f"drl_reference {value.origin}")
    except ValueError as error:
        raise _error("reference", value, str(error)) from None


def _candidates(config: pytest.Config, backends: tuple[str, ...], reference: str, directory: Any) -> tuple[str, ...]:
    """The candidate backends: as configured, or by default every backend the directory can run but the reference."""
    from pytest_drlreward.model_settings import candidate_backends

    value = _raw(config, "backends")
    try:
        candidates = candidate_backends(backends if value.text is not None else None, reference, directory) or backends
    except ValueError as error:
        raise _error("backends", value, str(error)) from None
    if reference in candidates:
        raise _error("backends", value, f"{reference!r} is the reference every backend is compared with (drl_reference); "
                                        f"comparing it with itself proves nothing: list only the other backends")
    return candidates


def _input_keys(config: pytest.Config, directory: Any) -> dict[str, str]:
    from pytest_drlreward.model_settings import parse_input_keys

    return _parsed(config, "input_keys", lambda text: parse_input_keys(text, directory), {})


def _fidelity_steps(config: pytest.Config, directory: Any) -> int:
    import math

    from pytest_drlreward.classifier.bounds import check_rollout_size

    steps = _parsed(config, "fidelity_steps", lambda t: whole_number(t, "the value", low=1), DEFAULT_FIDELITY_STEPS)
    per_step = None if directory is None else (sum(math.prod(spec.item_shape) for spec in directory.inputs),)
    try:
        check_rollout_size(steps, per_step, "the rollout")
    except ValueError as error:
        raise _error("fidelity_steps", _raw(config, "fidelity_steps"), str(error)) from None
    return steps


def _labelled_images(config: pytest.Config, model_dir: Path | None, directory: Any) -> Path | None:
    value = _raw(config, "labelled_images")
    if value.text is None:
        path = model_dir / LABELLED_IMAGES_FILE if model_dir is not None else None
        if path is None or not path.is_file():
            return path
    else:
        path = (value.base / Path(value.text).expanduser()).resolve()
        if not path.is_file():
            raise _error("labelled_images", value, f"file {path} does not exist")
    from pytest_drlreward.preflight import check_labelled_file

    try:
        check_labelled_file(path, directory.image_shape if directory is not None and len(directory.inputs) == 1 else None)
    except ValueError as error:
        raise _error("labelled_images", value, str(error)) from None
    return path


def _backends(config: pytest.Config) -> tuple[str, ...]:
    value = _raw(config, "backends")
    if value.text is None:
        return DEFAULT_BACKENDS
    names = [name.strip() for name in re.split(r"[,\s]+", value.text) if name.strip()]
    unknown = [name for name in names if name not in CANDIDATE_NAMES]
    if unknown or not names:
        named = ", ".join(map(repr, unknown)) or "(none given)"
        raise _error("backends", value, f"unknown backend {named}; allowed: {', '.join(CANDIDATE_NAMES)}")
    return tuple(dict.fromkeys(names))


def _parsed(config: pytest.Config, name: str, parse: Any, default: Any) -> Any:
    """``parse(text)`` of setting ``name`` (``default`` when unset); a ValueError becomes a usage error."""
    value = _raw(config, name)
    if value.text is None:
        return default
    table_on_command_line = _SETTINGS[name][1] == "linelist" and value.from_command_line
    text = value.text.replace(";", "\n") if table_on_command_line else value.text  # entries separated by ';' there
    try:
        return parse(text)
    except ValueError as error:
        raise _error(name, value, str(error)) from None


def _fraction(text: str) -> float:
    return number(text, "the value", low=0.0, high=1.0)


def _backend_options(config: pytest.Config, backends: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    table = _parsed(config, "backend_options", parse_backend_options, {})
    if table:
        from pytest_drlreward.preflight import check_backend_options

        try:
            check_backend_options(table, backends)
        except ValueError as error:
            raise _error("backend_options", _raw(config, "backend_options"), str(error)) from None
    return table


def _tolerances(config: pytest.Config) -> dict[str, tuple[float, float]]:
    table = _parsed(config, "parity_tolerances", parse_tolerances, {})
    unknown = [name for name in table if name not in CANDIDATE_NAMES]
    if unknown:
        raise _error("parity_tolerances", _raw(config, "parity_tolerances"),
                     f"unknown backend {unknown[0]!r}; allowed: {', '.join(CANDIDATE_NAMES)}")
    return table


def _path_option(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption("drl_" + name)
    return (config.invocation_params.dir / value) if value else None


def _output_path(config: pytest.Config, name: str) -> Path | None:
    """An output path option, checked at start: its directory exists (it is not created silently) and
    takes a new file, and the path itself is not a directory (for files) ."""
    path = _path_option(config, name)
    if path is None:
        return None
    flag = f"--drl-{name.replace('_', '-')}={config.getoption('drl_' + name)}"
    if not path.parent.is_dir():
        raise pytest.UsageError(f"{flag}: directory {path.parent} does not exist; create it first")
    if name != "golden_save" and path.is_dir():
        raise pytest.UsageError(f"{flag}: {path} is a directory; give a file name")
    try:
        check_writable(path.parent)
    except OSError as error:
        raise pytest.UsageError(f"{flag}: {error}") from None
    return path


def _output_dir(config: pytest.Config, name: str) -> Path | None:
    """An output directory option, checked at start: it exists and takes new files."""
    path = _path_option(config, name)
    if path is None:
        return None
    flag = f"--drl-{name.replace('_', '-')}={config.getoption('drl_' + name)}"
    if not path.is_dir():
        raise pytest.UsageError(f"{flag}: directory {path} does not exist; create it first")
    try:
        check_writable(path)
    except OSError as error:
        raise pytest.UsageError(f"{flag}: {error}") from None
    return path


def _compare_path(config: pytest.Config, name: str, kind: str) -> Path | None:
    path = _path_option(config, name)
    if path is not None and not (path.is_dir() if kind == "directory" else path.is_file()):
        raise pytest.UsageError(f"--drl-{name.replace('_', '-')}={config.getoption('drl_' + name)}: {kind} {path} does not exist")
    return path


def _policy(config: pytest.Config) -> tuple[str | None, Path | None]:
    value = _raw(config, "policy")
    if value.text is None:
        return None, None
    text = value.text.strip()
    from pytest_drlreward.policies import PolicyError, check_policy_spec

    try:
        check_policy_spec(text, value.base)  # nothing imported or unpickled
    except PolicyError as error:
        raise _error("policy", value, str(error)) from None
    return text, value.base


def read_config(config: pytest.Config) -> DrlConfig:
    """Read and check every setting; raise ``pytest.UsageError`` naming the first bad value."""
    backends = _backends(config)
    trust_code = _parsed(config, "trust_code", _flag, False)
    model_dir, directory = _model_dir(config, backends, trust_code)
    reference, reference_reason = _reference(config, directory)
    backends = _candidates(config, backends, reference, directory)
    policy, policy_base = _policy(config)
    return DrlConfig(
        reference=reference,
        reference_reason=reference_reason,
        decision=directory.decision.describe() if directory is not None else None,
        input_keys=_input_keys(config, directory),
        env=_env(config),
        model_dir=model_dir,
        labelled_images=_labelled_images(config, model_dir, directory),
        backends=backends,
        atol=_parsed(config, "parity_atol", lambda t: number(t, "the value"), DEFAULT_ATOL),
        rtol=_parsed(config, "parity_rtol", lambda t: number(t, "the value"), DEFAULT_RTOL),
        tolerances=_tolerances(config),
        backend_options=_backend_options(config, backends),
        truth_key=(_raw(config, "truth_key").text or "").strip() or None,
        min_recall=_parsed(config, "min_recall", _fraction, DEFAULT_MIN_RECALL),
        max_false_goal_rate=_parsed(config, "max_false_goal_rate", _fraction,
                                    DEFAULT_MAX_FALSE_GOAL_RATE),
        min_goals=_parsed(config, "fidelity_min_goals", lambda t: whole_number(t, "the value"), DEFAULT_MIN_GOALS),
        fidelity_steps=_fidelity_steps(config, directory),
        fidelity_seed=_parsed(config, "fidelity_seed", lambda t: whole_number(t, "the value"), 0),
        policy=policy,
        policy_base=policy_base,
        search_steps=_parsed(config, "search_steps", lambda t: whole_number(t, "the value"), DEFAULT_SEARCH_STEPS),
        plots=_output_dir(config, "plots"),
        min_accuracy=_parsed(config, "min_accuracy", _fraction, DEFAULT_MIN_ACCURACY),
        max_accuracy_drop=_parsed(config, "max_accuracy_drop", _fraction, DEFAULT_MAX_ACCURACY_DROP),
        min_argmax_agreement=_parsed(config, "min_argmax_agreement", _fraction,
                                     DEFAULT_MIN_ARGMAX_AGREEMENT),
        run_slow=bool(config.getoption("drl_run_slow")),
        timing_json=_output_path(config, "timing_json"),
        timing_save=_output_path(config, "timing_save"),
        timing_compare=_compare_path(config, "timing_compare", "file"),
        timing_margin=_parsed(config, "timing_margin", lambda t: number(t, "the value"), DEFAULT_TIMING_MARGIN),
        golden_save=_output_path(config, "golden_save"),
        golden_compare=_compare_path(config, "golden_compare", "directory"),
        trust_code=trust_code,
    )


def xdist_workers() -> int:
    """How many pytest-xdist workers run (0 without xdist)."""
    try:
        return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    except ValueError:
        return 0
