"""Checks run once when pytest starts, so a bad setting is one clear error, not a traceback per test.

No pytest here: each check raises ``ValueError`` (``ModelDirError`` is one) naming the value and the
file; the plugin turns it into a usage error. Nothing heavy is imported: the classifier's
``torch_factory`` is checked in its module's source, not imported (that would import torch, or run
code from the directory: see ``classifier/trust.py``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_drlreward.backends.registry import CANDIDATE_NAMES, REFERENCE_BACKEND, REGISTRY, VARIANTS, base_backend
from pytest_drlreward.classifier.directory import METADATA_FILE, ModelDir, ModelDirError, open_model_dir
from pytest_drlreward.classifier.trust import locate_factory
from pytest_drlreward.plugin.model_settings import TorchUse, factory_problem
from pytest_drlreward.util.allowlist import Trust
from pytest_drlreward.util.resolve import resolve
from pytest_drlreward.util.settings import ALL_BACKENDS, options_for

LOG = logging.getLogger(__name__)


def check_model_dir(path: Path, trust_code: bool = False, trust: Trust | None = None,
                    torch_use: TorchUse | None = None) -> ModelDir:
    """Open the classifier directory (metadata fields, sha256 of every file, no unlisted file, no symlink), check
    its inputs against the ONNX graph and that its ``torch_factory`` (when it has one) may run
    (``pytest_drlreward.util.allowlist``: ``trust``'s project roots and trusted modules), importing nothing.

    With ``torch_use`` (the settings) saying nothing runs Torch (a reference other than torch), a factory that
    fails the check is logged as a note, not refused: ONNX-only verification runs no Python from the directory."""
    from pytest_drlreward.classifier.graph import can_read_graphs

    directory = open_model_dir(path)
    if can_read_graphs():  # else no engine can run it either: the backend tests skip, naming their extras
        check_inputs_against_graph(directory)
    factory = directory.metadata.get("torch_factory")
    if factory is not None:  # None: an ONNX-only directory
        patterns, roots = (trust.patterns, trust.roots) if trust is not None else ((), None)
        try:
            locate_factory(factory, directory.path, trust_code, str(directory.path / METADATA_FILE), patterns, roots)
        except ModelDirError as error:
            if torch_use is None or torch_use.runs_torch(directory):
                if torch_use is None or not factory_problem(directory):
                    raise
                raise type(error)(f"{error}; {torch_use.torch_free_hint()}") from None
            LOG.warning("%s (a note, not refused: nothing in this run builds the Torch module)", error)
    return directory


def check_inputs_against_graph(directory: ModelDir) -> None:
    """The metadata's ``inputs`` (names, dtypes, fixed axes) and ``output`` match the ONNX graph (read with onnx,
    ONNX Runtime or OpenVINO, whichever is installed); ModelDirError naming the field and value otherwise."""
    from pytest_drlreward.classifier.graph import check_graph_inputs, graph_signature

    inputs, outputs = graph_signature(directory.onnx_path)
    check_graph_inputs(directory, [(port.name, port.dtype) for port in inputs])
    ports = {port.name: port for port in inputs}
    for index, spec in enumerate(directory.inputs):
        port = ports.get(spec.name, inputs[0] if len(inputs) == 1 else None)
        if port is None:
            continue
        dims, expected = list(port.shape), list(spec.shape)
        if len(dims) != len(expected) or any(d is not None and e is not None and d != e for d, e in zip(dims, expected)):
            raise ModelDirError(f"{directory.path / METADATA_FILE}: inputs[{index}].shape {expected} of input {spec.name!r} "
                                f"is not the ONNX graph's input shape {dims} ({directory.onnx_path}); export the "
                                f"classifier again")
    if outputs and len(outputs[0].shape) in (1, 2):
        graph_values = outputs[0].shape[1] if len(outputs[0].shape) == 2 else 1
        if graph_values is not None and graph_values != directory.output.n_values:
            raise ModelDirError(f"{directory.path / METADATA_FILE}: output.shape {list(directory.output.shape)} but the "
                                f"ONNX graph's output {outputs[0].name!r} has {graph_values} values per row")


def check_variants(directory: ModelDir, backends: Iterable[str]) -> None:
    """Check the classifier directory holds what each configured variant needs (e.g. a valid INT8 model)."""
    if any(VARIANTS.get(name) and VARIANTS[name].options.get("int8_model") is True for name in backends):
        from pytest_drlreward.classifier.int8 import open_int8_model

        open_int8_model(True, directory)


def _backend_class(name: str) -> Any:
    return resolve(REGISTRY[base_backend(name)].target, f"the {name} backend class")  # numpy, not the engine


def check_backend_options(table: dict[str, dict[str, Any]], backends: Iterable[str]) -> None:
    """Check ``drl_backend_options``: backend names exist and each backend's constructor takes its options."""
    unknown = [name for name in table if name != ALL_BACKENDS and name not in CANDIDATE_NAMES]
    if unknown:
        raise ValueError(f"options for unknown backend {unknown[0]!r}; backends: {', '.join(CANDIDATE_NAMES)}")
    from pytest_drlreward.backends.base import check_threads

    for name in dict.fromkeys([REFERENCE_BACKEND, *backends, *(n for n in table if n != ALL_BACKENDS)]):
        options = options_for(table, name)
        if not options:
            continue
        parameters = inspect.signature(_backend_class(name).__init__).parameters
        taken = [p for p in parameters if p not in ("self", "model_dir")]
        bad = [key for key in options if key not in taken]
        if bad:
            raise ValueError(f"backend {name!r} takes no option {bad[0]!r}; its options: {', '.join(taken)}")
        if "threads" in options:
            check_threads(options["threads"], name)



def image_gap(env: Any, spec: Any, checks: tuple[str, ...], n_inputs: int = 1) -> Any:
    """A :class:`~pytest_drlreward.errors.NotVerifiedError` for ``checks`` when ``env`` (built from ``spec``)
    shows a one-input classifier nothing: no ``camera_image()`` and no ``render()`` in ``rgb_array`` mode (a
    Dict observation, or a classifier of several inputs, finds its inputs by key instead); None when it does."""
    from pytest_drlreward.checks.rollout import has_image_source
    from pytest_drlreward.env.spec import accepts_keyword
    from pytest_drlreward.errors import NotVerifiedError

    dict_obs = type(getattr(env, "observation_space", None)).__name__ == "Dict"
    if n_inputs > 1 or dict_obs or has_image_source(env):
        return None
    name = type(env.unwrapped).__name__
    text = getattr(spec, "text", spec)
    takes = accepts_keyword(spec, "render_mode")
    reason = (f"{name} shows no image to classify: it has no camera_image() method and "
              + (f"its render_mode is {getattr(env, 'render_mode', None)!r}, not 'rgb_array'" if takes else
                 f"its factory {text} takes no render_mode argument, so render() cannot be asked for"))
    fix = (f"give {text} a render_mode argument (render_mode='rgb_array': render() returns the image) or {name} a "
           f"camera_image() method returning the uint8 (H, W, 3) image the classifier sees")
    return NotVerifiedError(checks[0], reason, fix, also=checks[1:])


def image_checks(truth_key: str | None, model: Any) -> tuple[str, ...]:
    """The checks that need the env's images: fidelity (a truth key) and decisions (a classifier)."""
    return tuple(name for name, wanted in (("fidelity", truth_key), ("decisions", model is not None)) if wanted)


def image_gap_at_start(spec: Any, truth_key: str | None, model: Any) -> Any:
    """:func:`image_gap` known before any test: only for a factory that takes no ``render_mode`` (the one case the
    plugin cannot ask for ``render()``), building the env once; None otherwise, or when the env cannot be built
    (its own error then shows in the tests)."""
    from pytest_drlreward.env.spec import accepts_keyword, make_env

    checks = image_checks(truth_key, model)
    if spec is None or not checks or accepts_keyword(spec, "render_mode"):
        return None
    try:
        env = make_env(spec)
    except Exception:  # the user's env may raise anything; the tests that build it report it
        return None
    try:
        return image_gap(env, spec, checks, len(model.inputs) if model is not None else 1)
    finally:
        env.close()
