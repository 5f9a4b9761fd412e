"""Writing format-2 classifier directories without torch: the shared metadata builder and
``write_classifier_dir`` (a directory around an existing ONNX file).

``write_classifier_dir(onnx_path, out_dir, ...)`` reads input names, dtypes and shapes from the graph
(with onnx, ONNX Runtime or OpenVINO), copies the file, hashes it and writes ``metadata.json``, all in
a temporary directory renamed into place. The decision rule comes from ``decision=`` (a kind, a
mapping or a :class:`DecisionRule`) or from ``threshold`` / ``goal_index`` (see :func:`resolve_decision`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pytest_drlreward.classifier.directory import ModelDir, open_model_dir, sha256_of
from pytest_drlreward.classifier.files import FORMAT_VERSION, METADATA_FILE, ONNX_FILE
from pytest_drlreward.classifier.metadata import DEFAULT_RANGES, InputSpec, OutputSpec, parse_input
from pytest_drlreward.util.atomic import atomic_directory

SINGLE_INPUT_NAME = "images"


def guess_layout(dtype: str, item_shape: Sequence[int]) -> str:
    """NHWC for (H, W, C<=4), NCHW for (C<=4, H, W), NTHWC / NTCHW for frame stacks, else ``N?..``."""
    if len(item_shape) == 3:
        return "NHWC" if item_shape[-1] <= 4 else "NCHW" if item_shape[0] <= 4 else "N???"
    if len(item_shape) == 4:
        return "NTHWC" if item_shape[-1] <= 4 else "NTCHW" if item_shape[1] <= 4 else "N????"
    return "N" + "?" * len(item_shape)


def resolve_decision(n_outputs: int, decision: Any = None, threshold: float | None = None,
                     goal_index: int | None = None) -> Any:
    """The rule for an output of ``n_outputs`` values per row.

    ``decision``: ``"argmax"``, ``"sigmoid"``, ``"softmax"``, ``"score"``, a mapping like metadata's
    ``decision`` or a :class:`DecisionRule`. Unset: one output value with a ``threshold`` is ``sigmoid``,
    K >= 2 outputs are ``argmax`` (with a threshold: ``softmax``). ``goal_index`` defaults to 1 for
    argmax/softmax. ValueError naming the argument for anything else.
    """
    from pytest_drlreward.classifier.decision import ARGMAX, SIGMOID, SOFTMAX, DecisionError, DecisionRule

    if isinstance(decision, DecisionRule):
        return decision
    if isinstance(decision, Mapping):
        kind, goal_index = decision.get("kind"), decision.get("goal_index", goal_index)
        threshold = decision.get("threshold", threshold)
    elif decision is None:
        if n_outputs == 1:
            if threshold is None:
                raise ValueError("the model gives one value per input: pass threshold= (a sigmoid rule) or "
                                 "decision='score' (a dense reward)")
            kind = SIGMOID
        else:
            kind = ARGMAX if threshold is None else SOFTMAX
    else:
        kind = decision
    if kind in (ARGMAX, SOFTMAX) and goal_index is None:
        goal_index = 1
    try:
        return DecisionRule(kind, goal_index=goal_index, threshold=threshold, n_outputs=n_outputs)
    except DecisionError as error:
        raise ValueError(f"decision={decision!r}, threshold={threshold!r}, goal_index={goal_index!r}: {error}") from None


def range_needed(names: Sequence[str], single: bool) -> ValueError:
    """The error for float inputs written without a declared range (no guess: see :func:`input_spec`)."""
    example = ("input_ranges=(0.0, 255.0)" if single else
               "input_ranges={" + ", ".join(f"{name!r}: (0.0, 255.0)" for name in names) + "}")
    inputs = f"input {names[0]!r} is" if len(names) == 1 else f"inputs {', '.join(map(repr, names))} are"
    return ValueError(f"{inputs} float32: declare the range their values take, e.g. {example} for raw "
                      f"pixels, (0.0, 1.0) for pixels scaled to [0, 1], or the range after your normalisation "
                      f"(random parity inputs are drawn from it; a guess would verify the model on inputs it never "
                      f"sees)")


def input_spec(name: str, item_shape: Sequence[int], dtype: str, *, layout: str | None = None,
               env_key: str | None = None, value_range: Sequence[float] | None = None, single: bool = True) -> InputSpec:
    """A checked :class:`InputSpec` (ValueError naming the input for a bad field). A uint8 input's range
    defaults to [0, 255]; a float32 input must be given one (``range_needed``)."""
    if value_range is None and dtype != "uint8":  # the reader's float32 default [0, 1] stays for old directories
        raise range_needed([name], single)
    raw = {"name": name, "shape": [None, *map(int, item_shape)], "dtype": dtype,
           "layout": layout or guess_layout(dtype, item_shape), "env_key": env_key or name,
           "range": list(value_range) if value_range is not None else list(DEFAULT_RANGES[dtype])}
    try:
        return parse_input(raw, f"input {name!r}")
    except ValueError as error:
        raise ValueError(str(error)) from None


def per_input(value: Any, names: Sequence[str], what: str) -> dict[str, Any]:
    """A per-input argument (a value for a one-input model, or a mapping name -> value) as a dict."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        unknown = [name for name in value if name not in names]
        if unknown:
            raise ValueError(f"{what} names unknown inputs {unknown}; the model takes {list(names)}")
        return dict(value)
    if len(names) != 1:
        raise ValueError(f"{what} must map input names to values for a model with inputs {list(names)}")
    return {names[0]: value}


def default_classes(rule: Any, classes: Sequence[str] | None) -> list[str]:
    if classes is not None:
        classes = list(classes)
        if rule.kind in ("argmax", "softmax") and len(classes) != rule.n_outputs:
            raise ValueError(f"classes {classes} must name the {rule.n_outputs} output columns")
        return classes
    if rule.kind in ("argmax", "softmax"):
        if rule.n_outputs != 2:
            raise ValueError(f"the model gives {rule.n_outputs} logits: pass classes= naming each column")
        return ["not_goal", "goal"] if rule.goal_index == 1 else ["goal", "not_goal"]
    return ["not_goal", "goal"]


def metadata_for(inputs: Sequence[InputSpec], output: OutputSpec, rule: Any, classes: list[str], files: dict[str, str],
                 *, torch_factory: str | None = None, torch_factory_kwargs: dict[str, Any] | None = None,
                 info: dict[str, Any] | None = None) -> dict[str, Any]:
    """The format-2 ``metadata.json`` object."""
    metadata: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "inputs": [spec.to_metadata() for spec in inputs],
        "output": output.to_metadata(),
        "decision": rule.to_metadata(),
        "classes": classes,
    }
    if torch_factory is not None:
        metadata["torch_factory"] = torch_factory
        metadata["torch_factory_kwargs"] = torch_factory_kwargs or {}
    metadata["files"] = files
    metadata["info"] = info or {}
    return metadata


def input_specs(arrays: Sequence[tuple[str, Sequence[int], str]], layouts: Any = None, env_keys: Any = None,
                input_ranges: Any = None) -> list[InputSpec]:
    """The ``inputs`` of a directory from (name, item shape, dtype) per input and the per-input options
    (one value, or a mapping name -> value; see :func:`per_input`)."""
    names = [name for name, _, _ in arrays]
    layouts, env_keys, ranges = (per_input(v, names, what) for v, what in
                                 ((layouts, "layouts"), (env_keys, "env_keys"), (input_ranges, "input_ranges")))
    unranged = [name for name, _, dtype in arrays if dtype != "uint8" and ranges.get(name) is None]
    if unranged:
        raise range_needed(unranged, len(names) == 1)
    return [input_spec(name, shape, dtype, layout=layouts.get(name), env_key=env_keys.get(name),
                       value_range=ranges.get(name), single=len(names) == 1) for name, shape, dtype in arrays]


@dataclass(frozen=True)
class Description:
    """The keywords ``export_classifier`` and ``write_classifier_dir`` share: what the directory says of the
    model beyond its graph, and whether it may replace an existing directory.

    - ``decision``: ``"argmax"``, ``"sigmoid"``, ``"softmax"``, ``"score"`` (or a mapping / DecisionRule);
      unset, it follows from the output and ``threshold``: one value + threshold = sigmoid, K >= 2 =
      argmax (+ threshold = softmax). ``threshold``: sigmoid/softmax probability bar in (0, 1), or a
      score's goal bar. ``goal_index``: the goal column (argmax/softmax; default 1). ``classes``: names
      of the output columns (required for K > 2).
    - ``layouts``, ``env_keys``, ``input_ranges``: per input (a value, or a mapping name -> value): the
      axes (default guessed: NHWC, NCHW, NTHWC), where the env supplies it (default the name), the
      value range random parity inputs are drawn from (uint8 default [0, 255]; a float32 input must
      declare its own: nothing can tell raw pixels from scaled or normalised ones).
    - ``info``: free JSON for the metadata. ``overwrite``: replace an existing directory.
    """

    decision: Any = None
    threshold: float | None = None
    goal_index: int | None = None
    classes: Sequence[str] | None = None
    layouts: Any = None
    env_keys: Any = None
    input_ranges: Any = None
    info: dict[str, Any] | None = None
    overwrite: bool = True

    @classmethod
    def of(cls, caller: str, keywords: Mapping[str, Any]) -> Description:
        """The description from ``caller``'s keywords; TypeError naming any keyword it does not take."""
        known = [field.name for field in fields(cls)]
        unknown = [name for name in keywords if name not in known]
        if unknown:
            raise TypeError(f"{caller}() got unexpected keyword argument(s) {unknown}; its description keywords "
                            f"are {known}")
        return cls(**keywords)

    def inputs(self, arrays: Sequence[tuple[str, Sequence[int], str]]) -> list[InputSpec]:
        """The ``inputs`` from (name, item shape, dtype) per input (see :func:`input_specs`)."""
        return input_specs(arrays, self.layouts, self.env_keys, self.input_ranges)

    def output_and_rule(self, name: str, shape: Sequence[int | None]) -> tuple[OutputSpec, Any, list[str]]:
        """The ``output`` (batch axis first), its decision rule (:func:`resolve_decision`) and the class names."""
        output = OutputSpec(name, (None, *shape[1:]))
        rule = resolve_decision(output.n_values, self.decision, self.threshold, self.goal_index)
        return output, rule, default_classes(rule, self.classes)


def write_metadata(directory: Path, metadata: dict[str, Any]) -> None:
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")


def write_classifier_dir(onnx_path: str | Path, out_dir: str | Path, **description: Any) -> ModelDir:
    """Write an ONNX-only classifier directory around ``onnx_path``; no torch needed.

    Input names, dtypes (uint8 or float32) and shapes are read from the graph; its first axis is the
    batch (every other axis must be fixed). ``description``: the keywords of :class:`Description`
    (``decision``, ``threshold``, ``goal_index``, ``classes``, ``layouts``, ``env_keys``, ``input_ranges``,
    ``info``, ``overwrite``), as for ``export_classifier``; a float32 input needs its ``input_ranges``.
    The graph is compiled and run on every installed engine first (``loadcheck.GraphLoadError`` naming
    the engine and the operators it lacks, nothing written). Returns the opened, checked directory.
    """
    from pytest_drlreward.classifier.graph import graph_signature
    from pytest_drlreward.classifier.loadcheck import prove_graph_loads

    described = Description.of("write_classifier_dir", description)
    source = Path(onnx_path)
    if not source.is_file():
        raise FileNotFoundError(f"ONNX file {source} does not exist")
    graph_inputs, graph_outputs = graph_signature(source)
    for port in graph_inputs:
        if port.dtype not in ("uint8", "float32"):
            raise ValueError(f"{source}: input {port.name!r} is {port.dtype}; a classifier input must be uint8 or float32")
        if len(port.shape) < 2 or any(d is None for d in port.shape[1:]):
            raise ValueError(f"{source}: input {port.name!r} has shape {port.shape}; every axis but the first "
                             f"(the batch) must be fixed")
    specs = described.inputs([(port.name, port.shape[1:], port.dtype) for port in graph_inputs])
    out = graph_outputs[0]
    if len(out.shape) not in (1, 2) or any(d is None for d in out.shape[1:]):
        raise ValueError(f"{source}: output {out.name!r} has shape {out.shape}; expected (N,) or (N, K)")
    output, rule, classes = described.output_and_rule(out.name, out.shape)
    prove_graph_loads(source)
    with atomic_directory(Path(out_dir), overwrite=described.overwrite) as tmp:
        shutil.copyfile(source, tmp / ONNX_FILE)
        write_metadata(tmp, metadata_for(specs, output, rule, classes, {ONNX_FILE: sha256_of(tmp / ONNX_FILE)},
                                         info=described.info))
    return open_model_dir(out_dir)
