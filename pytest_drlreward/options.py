"""The plugin's command-line options and ini keys, read once into a :class:`DrlConfig`.

Each setting has an ini key (the project's default) and a ``--drl-*`` option (which wins). Bad values
raise ``pytest.UsageError`` naming the value. Only the standard library and pytest are imported here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_drlreward.backends import BACKEND_NAMES, REFERENCE_BACKEND
from pytest_drlreward.classifier.directory import METADATA_FILE
from pytest_drlreward.envspec import EnvSpecError, check_env_spec

DEFAULT_BACKENDS = tuple(name for name in BACKEND_NAMES if name != REFERENCE_BACKEND)
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3
LABELLED_IMAGES_FILE = "labelled_images.npz"  # looked for in the model directory unless drl_labelled_images


@dataclass(frozen=True)
class DrlConfig:
    """The plugin's settings for one pytest run.

    ``env`` and ``model_dir`` are ``None`` when not configured (tests needing them skip, saying which
    setting to give); ``backends`` are the candidates checked against the Torch reference;
    ``atol``/``rtol`` are the parity tolerances; ``labelled_images`` is the ``.npz`` of labelled images
    (default: ``labelled_images.npz`` in the model directory).
    """

    env: str | None = None
    model_dir: Path | None = None
    labelled_images: Path | None = None
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    run_slow: bool = False
    timing_json: Path | None = None


CONFIG_KEY = pytest.StashKey[DrlConfig]()  # config.stash[CONFIG_KEY]: the run's DrlConfig

# name: (metavar, help)
_SETTINGS = {
    "env": ("ID_OR_SPEC", "Gymnasium env to check: a registered id, 'module:Id-v0' or 'module:factory' "
                          "(no default: env tests skip without it)"),
    "model": ("DIR", "classifier directory (metadata.json, classifier.onnx, classifier.pt) written by "
                     "export_classifier (no default: backend tests skip without it)"),
    "labelled_images": ("NPZ", f"labelled images (.npz with 'images' and 'labels'); default: "
                               f"{LABELLED_IMAGES_FILE} in the model directory"),
    "backends": ("NAMES", "comma-separated reward backends compared with the Torch reference "
                          "(default: onnxruntime,openvino)"),
    "parity_atol": ("FLOAT", f"absolute tolerance of backend parity checks (default: {DEFAULT_ATOL:g})"),
    "parity_rtol": ("FLOAT", f"relative tolerance of backend parity checks (default: {DEFAULT_RTOL:g})"),
}


def add_options(parser: pytest.Parser) -> None:
    """Register the ``drlreward`` option group and the ``drl_*`` ini keys."""
    group = parser.getgroup("drlreward", "learned-reward checks (pytest-drlreward)")
    for name, (metavar, help_text) in _SETTINGS.items():
        flag = "--drl-" + name.replace("_", "-")
        group.addoption(flag, dest="drl_" + name, default=None, metavar=metavar,
                        help=f"{help_text}; overrides ini drl_{name}")
        # drl_backends takes a list as well as "a,b"; the others are strings (numbers are read from text)
        ini_type = "args" if name == "backends" else "string"
        parser.addini("drl_" + name, help_text, type=ini_type, default=[] if ini_type == "args" else "")
    group.addoption("--drl-run-slow", dest="drl_run_slow", action="store_true", default=False,
                    help="run tests marked slow (also run by selecting them with -m slow)")
    group.addoption("--drl-timing-json", dest="drl_timing_json", default=None, metavar="PATH",
                    help="write the timing table's rows to PATH as JSON")


def _raw(config: pytest.Config, name: str) -> tuple[str | None, Path]:
    """The value of setting ``name`` (option first, then ini) and the directory relative paths start from."""
    value = config.getoption("drl_" + name)
    if value is not None:
        return str(value), config.invocation_params.dir
    value = config.getini("drl_" + name)
    if isinstance(value, list):
        value = ",".join(value)
    base = config.inipath.parent if config.inipath else config.rootpath
    return (str(value) if value not in ("", None) else None), base


def _env(config: pytest.Config) -> str | None:
    value, _ = _raw(config, "env")
    if value is None:
        return None
    try:
        return check_env_spec(value).text
    except EnvSpecError as error:
        raise pytest.UsageError(str(error)) from None


def _model_dir(config: pytest.Config) -> Path | None:
    value, base = _raw(config, "model")
    if value is None:
        return None
    path = (base / Path(value).expanduser()).resolve()
    if not path.is_dir():
        raise pytest.UsageError(f"drl_model {value!r}: directory {path} does not exist")
    if not (path / METADATA_FILE).is_file():
        raise pytest.UsageError(f"drl_model {value!r}: {path} has no {METADATA_FILE}; write the directory "
                                f"with pytest_drlreward.export_classifier")
    return path


def _labelled_images(config: pytest.Config, model_dir: Path | None) -> Path | None:
    value, base = _raw(config, "labelled_images")
    if value is None:
        return model_dir / LABELLED_IMAGES_FILE if model_dir is not None else None
    path = (base / Path(value).expanduser()).resolve()
    if not path.is_file():
        raise pytest.UsageError(f"drl_labelled_images {value!r}: file {path} does not exist")
    return path


def _backends(config: pytest.Config) -> tuple[str, ...]:
    value, _ = _raw(config, "backends")
    if value is None:
        return DEFAULT_BACKENDS
    names = [name.strip() for name in re.split(r"[,\s]+", value) if name.strip()]
    unknown = [name for name in names if name not in BACKEND_NAMES]
    if unknown or not names:
        named = ", ".join(map(repr, unknown)) or "(none given)"
        raise pytest.UsageError(f"drl_backends {value!r}: unknown backend {named}; allowed: {', '.join(BACKEND_NAMES)}")
    return tuple(dict.fromkeys(names))


def _tolerance(config: pytest.Config, name: str, default: float) -> float:
    value, _ = _raw(config, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number >= 0):
        raise pytest.UsageError(f"drl_{name} {value!r} must be a finite number >= 0")
    return number


def read_config(config: pytest.Config) -> DrlConfig:
    """Read and check every setting; raise ``pytest.UsageError`` naming the first bad value."""
    timing_json = config.getoption("drl_timing_json")
    model_dir = _model_dir(config)
    return DrlConfig(
        env=_env(config),
        model_dir=model_dir,
        labelled_images=_labelled_images(config, model_dir),
        backends=_backends(config),
        atol=_tolerance(config, "parity_atol", DEFAULT_ATOL),
        rtol=_tolerance(config, "parity_rtol", DEFAULT_RTOL),
        run_slow=bool(config.getoption("drl_run_slow")),
        timing_json=(config.invocation_params.dir / timing_json) if timing_json else None,
    )
