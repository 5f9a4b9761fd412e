"""Every plugin setting, declared once: its ini key, its option, its parser, its default and its help.

``options.add_options`` registers ``addoption``/``addini`` from :data:`SETTINGS`, ``config.DrlConfig``
takes its fields from it, ``options.read_config`` parses each value with the row's ``parse`` (or the
reader ``options`` names for the few settings that need others: the classifier directory, the
reference, the candidates), and :func:`markdown_table` writes the settings table of ``docs/settings.md``.
A new setting is one row here plus its use. No pytest here (standard library and this package's parsers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_drlreward.backends.registry import BACKEND_NAMES, CANDIDATE_NAMES, REFERENCE_BACKEND
from pytest_drlreward.checks.deployed_settings import (
    DEFAULT_DEPLOYED_ATOL,
    DEFAULT_DEPLOYED_KEYS,
    DEFAULT_DEPLOYED_STEPS,
    parse_deployed_keys,
    parse_env_kwargs,
)
from pytest_drlreward.defaults import (
    DEFAULT_ATOL,
    DEFAULT_FIDELITY_STEPS,
    DEFAULT_MAX_FALSE_GOAL_RATE,
    DEFAULT_MIN_GOALS,
    DEFAULT_MIN_RECALL,
    DEFAULT_RTOL,
    DEFAULT_SEARCH_STEPS,
)
from pytest_drlreward.errors import CHECK_NAMES
from pytest_drlreward.timing import DEFAULT_MARGIN as DEFAULT_TIMING_MARGIN
from pytest_drlreward.util.allowlist import parse_trusted_modules
from pytest_drlreward.util.settings import number, whole_number

DEFAULT_BACKENDS = tuple(name for name in BACKEND_NAMES if name != REFERENCE_BACKEND)
DEFAULT_MIN_ACCURACY = 1.0
DEFAULT_MAX_ACCURACY_DROP = 0.02
DEFAULT_MIN_ARGMAX_AGREEMENT = 0.99
LABELLED_IMAGES_FILE = "labelled_images.npz"  # looked for in the model directory unless drl_labelled_images

# How a setting is given: ini key and option ("string", "args", "linelist": pytest's ini types), an option
# only ("path": an output or input file or directory, relative to the invocation directory), or a flag.
INI_KINDS = ("string", "args", "linelist")


def fraction(text: str) -> float:
    """A number in [0, 1]."""
    return number(text, "the value", low=0.0, high=1.0)


def real(text: str) -> float:
    """A finite number >= 0."""
    return number(text, "the value")


def count(text: str) -> int:
    """A whole number >= 0."""
    return whole_number(text, "the value")


def positive_count(text: str) -> int:
    """A whole number >= 1."""
    return whole_number(text, "the value", low=1)


def flag(text: str) -> bool:
    """true / false (also 1 / 0, yes / no)."""
    lowered = text.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError("give true or false")
    return lowered in ("true", "1", "yes")


def search_method(text: str) -> str:
    """auto, cma or hypothesis; cma only where the cmaes package is installed."""
    from pytest_drlreward.checks.search_methods import available_method

    name = text.strip()
    try:
        available_method(name)
    except ImportError as error:
        raise ValueError(str(error)) from None
    return name


def allow_unverified(text: str) -> dict[str, str]:
    """Lines 'check[, check]: reason' naming checks of errors.CHECK_NAMES."""
    from pytest_drlreward.plugin.verdicts import parse_allow_unverified

    return parse_allow_unverified(text)


def key(text: str) -> str | None:
    """A non-empty name (stripped)."""
    return text.strip() or None


@dataclass(frozen=True)
class Setting:
    """One plugin setting: ini key ``drl_<name>`` and option ``--drl-<name>`` (``_`` as ``-``).

    ``parse(text)`` turns the raw text into the value (ValueError names what is wrong; the plugin adds
    where it was set); ``reader`` instead names a reader in ``options`` for a setting that needs others.
    ``default`` is the value when unset, ``shown_default`` how help and docs write it. ``kind``: one of
    :data:`INI_KINDS` (ini key and option), ``"path"`` (option only) or ``"flag"`` (option only, no value).
    ``type`` is the ``DrlConfig`` field's annotation; ``field`` its name when it is not ``name``.
    """

    name: str
    help: str
    type: str
    default: Any = None
    kind: str = "string"
    metavar: str = "VALUE"
    parse: Callable[[str], Any] | None = None
    reader: str | None = None
    shown_default: str | None = None
    field: str | None = None  # the DrlConfig attribute, when not ``name``

    @property
    def attr(self) -> str:
        """The ``DrlConfig`` attribute holding the parsed value."""
        return self.field or self.name

    @property
    def ini_key(self) -> str:
        return "drl_" + self.name

    @property
    def flag(self) -> str:
        return "--drl-" + self.name.replace("_", "-")

    @property
    def has_ini(self) -> bool:
        return self.kind in INI_KINDS

    def default_text(self) -> str:
        """The default as help and docs show it."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default == () or self.default == {}:
            return "none"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, tuple):
            return ",".join(map(str, self.default))
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    def help_text(self) -> str:
        """The help pytest prints: what it is, then its default."""
        return f"{self.help} (default: {self.default_text()})"


SETTINGS: tuple[Setting, ...] = (
    # -- what to check
    Setting("env", "Gymnasium env to check: a registered id, 'module:Id-v0' or 'module:factory'", "str | None",
            metavar="ID_OR_SPEC", reader="env", shown_default="none: env tests skip"),
    Setting("model", "classifier directory (metadata.json, classifier.onnx, optional classifier.pt) written by "
            "export_classifier or write_classifier_dir", "Path | None", metavar="DIR", reader="model", field="model_dir",
            shown_default="none: backend tests skip"),
    Setting("trust_code", "true: the classifier's torch_factory may be code inside its directory (it runs when the "
            "Torch reference loads; false: such a directory is refused)", "bool", False, parse=flag, metavar="BOOL"),
    Setting("trusted_modules", "modules (besides your project's own code) whose functions and classes a setting or "
            "the classifier directory may name (torch_factory, drl_reference, drl_policy), e.g. 'my_lab.*, "
            "torchvision.models.*' ('pkg.*': pkg and below); anything else installed is refused", "tuple[str, ...]",
            (), kind="args", metavar="MODULES", parse=parse_trusted_modules, shown_default="none: your project only"),
    Setting("labelled_images", "labelled images (.npz with 'images' and 'labels', labels int or bool)", "Path | None",
            metavar="NPZ", reader="labelled_images", shown_default=f"{LABELLED_IMAGES_FILE} in the model directory"),
    Setting("backends", f"comma-separated reward backends compared with the reference, of {', '.join(CANDIDATE_NAMES)}",
            "tuple[str, ...]", DEFAULT_BACKENDS, kind="args", metavar="NAMES", reader="backends",
            shown_default="every backend the directory can run but the reference"),
    Setting("reference", "what the backends are compared with: torch, onnxruntime, openvino or a 'module:function' "
            "callable (numpy inputs in, numpy outputs out)", "str", REFERENCE_BACKEND, metavar="NAME_OR_SPEC",
            reader="reference", shown_default="torch when the directory has a torch_factory, else ONNX Runtime "
                                              "(else OpenVINO)"),
    Setting("allow_unverified", "checks accepted as not verified, lines 'check[, check]: reason' (checks: "
            f"{', '.join(CHECK_NAMES)}): such a check that cannot run is a skip with its reason, not a failure; for "
            "env_checker, contract and vecenv (the env's own code) a known failure too. The reasons are printed in every "
            "run's summary", "dict[str, str]", {},
            kind="linelist", metavar="TABLE", parse=allow_unverified, shown_default="none: a check that cannot run fails"),
    Setting("input_keys", "where the env supplies each classifier input: lines 'input_name = env_key' (a key of "
            "camera_images() or of a Dict observation)", "dict[str, str]", {}, kind="linelist", metavar="TABLE",
            reader="input_keys", shown_default="each input's env_key"),
    # -- parity
    Setting("parity_atol", "absolute tolerance of backend parity checks", "float", DEFAULT_ATOL, parse=real,
            metavar="FLOAT", field="atol"),
    Setting("parity_rtol", "relative tolerance of backend parity checks", "float", DEFAULT_RTOL, parse=real,
            metavar="FLOAT", field="rtol"),
    Setting("parity_tolerances", "per-backend tolerances, one 'backend = atol, rtol' a line (others use "
            "drl_parity_atol/rtol)", "dict[str, tuple[float, float]]", {}, kind="linelist", metavar="TABLE",
            reader="parity_tolerances", field="tolerances"),
    Setting("backend_options", "backend constructor options, lines '[backend:] key=value, ...' (no backend: every "
            "backend), e.g. 'threads=1'", "dict[str, dict[str, Any]]", {}, kind="linelist", metavar="TABLE",
            reader="backend_options"),
    # -- reward fidelity
    Setting("truth_key", "info key holding the env's ground truth of the goal (e.g. true_goal)", "str | None",
            parse=key, metavar="KEY", shown_default="none: fidelity tests skip"),
    Setting("min_recall", "reward fidelity: least goal recall", "float", DEFAULT_MIN_RECALL, parse=fraction,
            metavar="FRACTION"),
    Setting("max_false_goal_rate", "reward fidelity: largest share of non-goal states called goal", "float",
            DEFAULT_MAX_FALSE_GOAL_RATE, parse=fraction, metavar="FRACTION"),
    Setting("fidelity_min_goals", "reward fidelity: goal states the rollout and searches must reach", "int",
            DEFAULT_MIN_GOALS, parse=count, metavar="N", field="min_goals"),
    Setting("fidelity_steps", "steps of the rollout used for fidelity and decision parity", "int",
            DEFAULT_FIDELITY_STEPS, metavar="N", reader="fidelity_steps"),
    Setting("fidelity_seed", "seed of that rollout and of the searches", "int", 0, parse=count, metavar="N"),
    Setting("policy", "policy of that rollout: an SB3 agent .zip or 'module:function'", "str | None", metavar="SPEC",
            reader="policy", shown_default="random actions"),
    Setting("search_steps", "reward fidelity: env steps of the search for false goals (a quarter) and for goal states "
            "(0: no search)", "int", DEFAULT_SEARCH_STEPS, parse=count, metavar="N"),
    Setting("search_method", "reward fidelity: the searches' optimiser: auto (CMA-ES where the cmaes package, the "
            "search extra, is installed; else Hypothesis), cma or hypothesis", "str", "auto", parse=search_method,
            metavar="METHOD"),
    Setting("audit_steps", "reward audit (slow test): env steps an SB3 agent (SAC for Box actions, PPO for Discrete) "
            "trains against the learned reward while the audit watches for exploitation", "int", 4000,
            parse=positive_count, metavar="N"),
    Setting("audit_max_share", "reward audit: the false-goal share among learned successes a window of training may "
            "show; the onset of exploitation is the first window whose 95 percent Wilson interval lies above it", "float", 0.05,
            parse=fraction, metavar="FRACTION"),
    # -- the deployed path: the reward the env computes against the directory's decision
    Setting("deployed_keys", "where the env reports its own reward: lines 'decision = INFO_KEY' and 'probability = "
            "INFO_KEY' ('none': not reported)", "dict[str, str | None]", DEFAULT_DEPLOYED_KEYS, kind="linelist",
            metavar="TABLE", parse=parse_deployed_keys, shown_default="decision = is_goal, probability = goal_probability"),
    Setting("deployed_atol", "deployed-path check: how far the env's goal probability may be from the directory's "
            "(decisions must be equal)", "float", DEFAULT_DEPLOYED_ATOL, parse=real, metavar="FLOAT"),
    Setting("deployed_steps", "deployed-path check: random steps of its rollout (0: no check)", "int",
            DEFAULT_DEPLOYED_STEPS, parse=count, metavar="N"),
    Setting("deployed_env_kwargs", "deployed-path check: keyword arguments the env is built with so that its reward "
            "runs the learned model, lines 'key = value' (e.g. reward_backend = onnxruntime)", "dict[str, Any]", {},
            kind="linelist", metavar="TABLE", parse=parse_env_kwargs),
    # -- labelled accuracy and quantized backends
    Setting("min_accuracy", "least accuracy on the labelled images", "float", DEFAULT_MIN_ACCURACY, parse=fraction,
            metavar="FRACTION"),
    Setting("max_accuracy_drop", "quantized backends: accuracy they may lose against the reference", "float",
            DEFAULT_MAX_ACCURACY_DROP, parse=fraction, metavar="FRACTION"),
    Setting("min_argmax_agreement", "quantized backends: least share of inputs whose decision matches the "
            "reference's", "float", DEFAULT_MIN_ARGMAX_AGREEMENT, parse=fraction, metavar="FRACTION"),
    # -- timing and golden outputs
    Setting("timing_margin", "--drl-timing-compare: how much a latency ratio may grow (0.5: by half)", "float",
            DEFAULT_TIMING_MARGIN, parse=real, metavar="MARGIN"),
    Setting("run_slow", "run tests marked slow (also run by selecting them with -m slow)", "bool", False, kind="flag"),
    Setting("timing_json", "write the timing table's rows to PATH as JSON", "Path | None", kind="path",
            metavar="PATH", reader="output_file"),
    Setting("timing_save", "write a timing baseline (latency ratios to the reference) to PATH", "Path | None",
            kind="path", metavar="PATH", reader="output_file"),
    Setting("timing_compare", "compare latency ratios with the baseline at PATH; a ratio grown beyond "
            "drl_timing_margin fails the run", "Path | None", kind="path", metavar="PATH", reader="input_file"),
    Setting("golden_save", "save each backend's outputs on the labelled images into directory PATH", "Path | None",
            kind="path", metavar="PATH", reader="output_file"),
    Setting("golden_compare", "compare each backend's outputs on the labelled images with those saved in directory "
            "PATH", "Path | None", kind="path", metavar="PATH", reader="input_dir"),
    Setting("plots", "write the threshold sweep's curve (PNG, needs matplotlib) and the false goals found into "
            "directory PATH", "Path | None", kind="path", metavar="PATH", reader="output_dir"),
)
BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def setting(name: str) -> Setting:
    """The row of setting ``name`` (``KeyError`` names the known ones)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no plugin setting {name!r}; known: {', '.join(BY_NAME)}") from None


def markdown_table() -> str:
    """The settings as a Markdown table (``docs/settings.md`` holds it; a test keeps it current)."""
    rows = ["| ini key | option | default | what it sets |", "|---|---|---|---|"]
    for row in SETTINGS:
        ini = f"`{row.ini_key}`" if row.has_ini else "-"
        option = f"`{row.flag}`" if row.kind == "flag" else f"`{row.flag}={row.metavar}`"
        rows.append(f"| {ini} | {option} | {row.default_text()} | {row.help} |")
    return "\n".join(rows) + "\n"


def relative_to(base: Path, text: str) -> Path:
    """``text`` as a path, relative to ``base`` unless absolute (``~`` expanded)."""
    return (base / Path(text).expanduser()).resolve()
