"""``metadata.json`` of a classifier directory: format 2 checked field by field, format 1 converted to it.

Format 2 (written by ``export_classifier`` and ``write_classifier_dir``)::

    {"format_version": 2,
     "inputs": [{"name": "front", "shape": [null, 3, 64, 64], "dtype": "float32", "layout": "NCHW",
                 "env_key": "front", "range": [0.0, 1.0]}, ...],      # or a mapping name -> spec
     "output": {"name": "logits", "shape": [null] or [null, K], "dtype": "float32"},
     "decision": {"kind": "argmax" | "sigmoid" | "softmax" | "score", "goal_index": ..., "threshold": ...},
     "classes": [...], "files": {name: sha256}, "torch_factory": "pkg.mod:fn" (optional),
     "torch_factory_kwargs": {...}, "info": {...}}

``env_key`` (default: the input's name) is where the env supplies the input when the model takes
several: a key of ``camera_images()`` or of a Dict observation. ``range`` is what random parity inputs
are drawn from: the writers default it for uint8 ([0, 255]) and require it for float32; a directory
written before that is read with float32 [0, 1]. A time axis ``T`` in ``layout`` (e.g.
``NTHWC``) marks a frame stack. Format 1 (one uint8 NHWC ``input``, ``goal_index``, argmax) is read as
the same object. Every problem is a :class:`ModelDirError` naming the file, the field and the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # decision.py imports numpy; reading metadata must not (the plugin loads this module)
    from pytest_drlreward.classifier.decision import DecisionRule

DTYPES = ("uint8", "float32")
LAYOUT_AXES = "NTDHWC"  # batch, time, depth, height, width, channels
DEFAULT_RANGES = {"uint8": (0.0, 255.0), "float32": (0.0, 1.0)}


class ModelDirError(ValueError):
    """The classifier directory is missing, incomplete, corrupt or does not match its metadata."""


@dataclass(frozen=True)
class InputSpec:
    """One named model input: ``shape`` with ``None`` for the batch axis, dtype, layout, env key, value range."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "uint8"
    layout: str = "NHWC"
    env_key: str = ""
    range: tuple[float, float] = (0.0, 255.0)

    @property
    def item_shape(self) -> tuple[int, ...]:
        """The shape of one item (without the batch axis)."""
        return tuple(int(n) for n in self.shape[1:])

    @property
    def key(self) -> str:
        """Where the env supplies this input (``env_key``, default the name)."""
        return self.env_key or self.name

    def describe(self) -> str:
        return f"{self.dtype} (N, {', '.join(map(str, self.item_shape))})"

    def to_metadata(self) -> dict[str, Any]:
        return {"name": self.name, "shape": [None, *self.item_shape], "dtype": self.dtype, "layout": self.layout,
                "env_key": self.key, "range": list(self.range)}


@dataclass(frozen=True)
class OutputSpec:
    """The model's output: name and shape (``None`` batch axis); ``n_values`` per row."""

    name: str
    shape: tuple[int | None, ...]

    @property
    def n_values(self) -> int:
        return int(math.prod(int(n) for n in self.shape[1:])) if len(self.shape) > 1 else 1

    def to_metadata(self) -> dict[str, Any]:
        return {"name": self.name, "shape": [None, *self.shape[1:]], "dtype": "float32"}


def _positive_ints(values: Any) -> bool:
    return all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in values)


def parse_input(raw: Any, where: str, name: str | None = None) -> InputSpec:
    """One entry of ``inputs`` (``name`` given when ``inputs`` is a mapping)."""
    if not isinstance(raw, dict):
        raise ModelDirError(f"{where} must be an object with shape, dtype and layout, got {raw!r}")
    name = raw.get("name", name)
    if not isinstance(name, str) or not name:
        raise ModelDirError(f"{where}.name must be a non-empty string, got {name!r}")
    shape = raw.get("shape")
    if not isinstance(shape, list) or len(shape) < 2 or shape[0] is not None or not _positive_ints(shape[1:]):
        raise ModelDirError(f"{where}.shape must be [null, ...] (null batch axis, positive integers), got {shape!r}")
    dtype = raw.get("dtype", "uint8")
    if dtype not in DTYPES:
        raise ModelDirError(f"{where}.dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    layout = raw.get("layout", "NHWC" if len(shape) == 4 else "N" + "?" * (len(shape) - 1))
    if (not isinstance(layout, str) or len(layout) != len(shape) or not layout.startswith("N")
            or len(set(layout)) != len(layout) or not set(layout) <= set(LAYOUT_AXES) | {"?"}):
        raise ModelDirError(f"{where}.layout {layout!r} must name each of the {len(shape)} axes once with letters of "
                            f"{LAYOUT_AXES!r}, batch first (e.g. NHWC, NCHW, NTHWC)")
    value_range = raw.get("range", DEFAULT_RANGES[dtype])
    if (not isinstance(value_range, (list, tuple)) or len(value_range) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value_range)
            or not value_range[0] < value_range[1]):
        raise ModelDirError(f"{where}.range must be [low, high] with finite low < high, got {value_range!r}")
    env_key = raw.get("env_key", name)
    if not isinstance(env_key, str) or not env_key:
        raise ModelDirError(f"{where}.env_key must be a non-empty string, got {env_key!r}")
    return InputSpec(name, tuple(shape), dtype, layout, env_key, (float(value_range[0]), float(value_range[1])))


def parse_inputs(raw: Any, meta_path: Path) -> tuple[InputSpec, ...]:
    """``inputs``: a non-empty list of specs or a mapping name -> spec; names unique."""
    if isinstance(raw, dict):
        specs = [parse_input(spec, f"{meta_path}: inputs[{name!r}]", name) for name, spec in raw.items()]
    elif isinstance(raw, list):
        specs = [parse_input(spec, f"{meta_path}: inputs[{i}]") for i, spec in enumerate(raw)]
    else:
        raise ModelDirError(f"{meta_path}: inputs must be a list of input specs or a mapping name -> spec, got {raw!r}")
    if not specs:
        raise ModelDirError(f"{meta_path}: inputs is empty; a model takes at least one input")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ModelDirError(f"{meta_path}: inputs has repeated names {names}")
    return tuple(specs)


def parse_output(raw: Any, meta_path: Path) -> OutputSpec:
    if not isinstance(raw, dict):
        raise ModelDirError(f"{meta_path}: output must be an object with name and shape, got {raw!r}")
    shape = raw.get("shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 2 or shape[0] is not None or not _positive_ints(shape[1:]):
        raise ModelDirError(f"{meta_path}: output.shape must be [null] or [null, K] with K >= 1, got {shape!r}")
    return OutputSpec(str(raw.get("name", "logits")), tuple(shape))


def parse_decision(raw: Any, output: OutputSpec, meta_path: Path) -> DecisionRule:
    from pytest_drlreward.classifier.decision import DecisionRule, rule_problem

    if not isinstance(raw, dict):
        raise ModelDirError(f"{meta_path}: decision must be an object with a 'kind', got {raw!r}")
    problem = rule_problem(raw.get("kind"), raw.get("goal_index"), raw.get("threshold"), output.n_values)
    if problem:
        raise ModelDirError(f"{meta_path}: {problem} (output.shape {list(output.shape)})")
    return DecisionRule.from_metadata(raw, output.n_values)


def check_classes(classes: Any, rule: DecisionRule, meta_path: Path) -> list[str]:
    """``classes``: names in output order (K of them for argmax/softmax; optional otherwise)."""
    if classes is None and rule.kind not in ("argmax", "softmax"):
        return ["not_goal", "goal"]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ModelDirError(f"{meta_path}: classes must be a list of names, got {classes!r}")
    if rule.kind in ("argmax", "softmax") and len(classes) != rule.n_outputs:
        raise ModelDirError(f"{meta_path}: classes {classes} must name the {rule.n_outputs} output columns "
                            f"(decision.kind {rule.kind!r})")
    return list(classes)


def from_format_1(metadata: dict[str, Any], meta_path: Path) -> dict[str, Any]:
    """A format-1 metadata object as format 2 (one uint8 NHWC input, argmax over ``goal_index``)."""
    missing = [key for key in ("input", "classes", "goal_index", "torch_factory", "files") if key not in metadata]
    if missing:
        raise ModelDirError(f"{meta_path} lacks {missing}; write the directory with export_classifier")
    raw_input = metadata["input"]
    shape = raw_input.get("shape") if isinstance(raw_input, dict) else None
    if (not isinstance(shape, list) or len(shape) != 4 or shape[0] is not None or not _positive_ints(shape[1:])):
        raise ModelDirError(f"{meta_path}: input.shape must be [null, H, W, C] with positive integers, got {shape!r}")
    classes = metadata["classes"]
    if not isinstance(classes, list) or len(classes) < 2:
        raise ModelDirError(f"{meta_path}: classes must be a list of at least 2 names, got {classes!r}")
    converted = {key: value for key, value in metadata.items() if key not in ("input", "goal_index")}
    converted.update({
        "format_version": 2,
        "inputs": [{"name": raw_input.get("name", "images"), "shape": shape, "dtype": "uint8", "layout": "NHWC"}],
        "output": {"name": (metadata.get("output") or {}).get("name", "logits"), "shape": [None, len(classes)]},
        "decision": {"kind": "argmax", "goal_index": metadata["goal_index"]},
        "converted_from_format": 1,
    })
    return converted
