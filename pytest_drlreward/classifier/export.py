"""``export_classifier``: write any ``nn.Module`` as a format-2 classifier directory (see ``metadata.py``).

Needs the ``torch`` extra (torch, onnx, onnxscript): ``pip install ".[torch]"`` in a clone.
"""

from __future__ import annotations

import errno
import inspect
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.classifier.directory import ONNX_FILE, TORCH_FILE, ModelDir, import_factory, open_model_dir, sha256_of
from pytest_drlreward.classifier.loadcheck import prove_graph_loads
from pytest_drlreward.classifier.quiet import quiet_onnx_export
from pytest_drlreward.classifier.writer import SINGLE_INPUT_NAME, Description, metadata_for, write_metadata
from pytest_drlreward.util.atomic import atomic_directory
from pytest_drlreward.util.extras import require

INPUT_NAME = SINGLE_INPUT_NAME
OUTPUT_NAME = "logits"


def _check_examples(example_inputs: Any, input_name: str) -> dict[str, np.ndarray]:
    """The example inputs by name: uint8 or float32 arrays with a batch axis, N >= 1, one N for all."""
    named = dict(example_inputs) if isinstance(example_inputs, Mapping) else {input_name: example_inputs}
    checked, batch = {}, None
    for name, value in named.items():
        array = np.asarray(value)
        label = "example_images" if not isinstance(example_inputs, Mapping) else f"example input {name!r}"
        least = 2 if isinstance(example_inputs, Mapping) else 4  # one array: an image (or frame stack) batch
        if array.dtype not in (np.uint8, np.float32) or array.ndim < least or len(array) == 0:
            hint = " (one input: uint8 of shape (N, H, W, 3), or float32 (N, C, H, W))" if label == "example_images" else ""
            raise ValueError(f"{label} must be uint8 of shape (N, ...) or float32 with N >= 1{hint}, got "
                             f"{array.dtype} {array.shape}")
        if batch is not None and len(array) != batch:
            raise ValueError(f"{label} has {len(array)} examples, the other inputs {batch}")
        batch = len(array)
        checked[str(name)] = np.ascontiguousarray(array)
    if not checked:
        raise ValueError("example_inputs is an empty dict; give one array per model input")
    return checked


def _forward_order(model: Any, names: list[str]) -> list[str]:
    """The inputs in the order of ``forward``'s parameters (the ONNX graph's order)."""
    try:
        parameters = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return names
    return sorted(names, key=lambda n: parameters.index(n) if n in parameters else len(parameters))


def _call(model: Any, torch: Any, examples: dict[str, np.ndarray], single: bool) -> Any:
    tensors = {name: torch.from_numpy(array) for name, array in examples.items()}
    out = model(*tensors.values()) if single else model(**tensors)
    return out[0] if isinstance(out, (tuple, list)) else out


# Ops that join a Python list of tensors. torch decomposes them to aten.atleast_Nd.Sequence + cat, and
# torch.onnx writes atleast_Nd.Sequence as ONNX SequenceMap, which OpenVINO cannot convert
# ("No conversion rule found for operations: SequenceMap-20, util::SequenceAt"). Decomposed before
# the ONNX export, they become Reshape/Unsqueeze + Concat, which every engine runs.
LIST_JOINS = ("hstack.default", "vstack.default", "dstack.default", "column_stack.default", "row_stack.default",
              "atleast_1d.Sequence", "atleast_2d.Sequence", "atleast_3d.Sequence")


def _list_joins_decomposed(torch: Any, model: Any, args: tuple, kwargs: Any, dynamic: Any) -> Any:
    """``torch.export``'s program of ``model`` with the list joins (:data:`LIST_JOINS`) decomposed; the
    model itself when ``torch.export`` cannot capture it (``torch.onnx.export`` then tries its own ways)."""
    try:
        program = torch.export.export(model, args, kwargs=kwargs, dynamic_shapes=dynamic, strict=False)
    except Exception:  # noqa: BLE001  (torch.export raises many types; torch.onnx.export reports its own)
        return model
    table = torch.export.default_decompositions()
    ops = [op for op in (_aten_overload(torch, name) for name in LIST_JOINS) if op is not None and op in table]
    try:
        return program.run_decompositions({op: table[op] for op in ops})
    except Exception:  # noqa: BLE001  (then the engines judge the plain program: prove_graph_loads names what fails)
        return program


def _aten_overload(torch: Any, name: str) -> Any:
    packet, _, overload = name.partition(".")
    return getattr(getattr(torch.ops.aten, packet, None), overload, None)


def _export_onnx(model: Any, examples: dict[str, np.ndarray], single: bool, path: Path) -> None:
    """ONNX export with a dynamic batch axis on every input.

    ``torch.export`` specialises a dimension whose example size is 1, so a single example is repeated
    to make a batch of 2 for tracing. One input is passed positionally (whatever ``forward`` calls it),
    several by name. List joins (``torch.hstack`` of a list) are decomposed to ``Concat`` first.
    """
    torch = require("torch", "export_classifier", extra="torch")
    onnx = require("onnx", "export_classifier", extra="torch")
    batch = {name: (a[:2] if len(a) >= 2 else np.repeat(a, 2, axis=0)) for name, a in examples.items()}
    tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in batch.items()}
    dim = torch.export.Dim("batch", min=1)
    if single:
        args, kwargs, dynamic = tuple(tensors.values()), None, ({0: dim},)
    else:
        args, kwargs, dynamic = (), tensors, {name: {0: dim} for name in tensors}
    with quiet_onnx_export(), warnings.catch_warnings():  # no "torchvision is not installed" lines; and
        # torch warns that all inputs share one batch axis name: they do, on purpose
        warnings.filterwarnings("ignore", message=".*The axis name: batch will not be used")
        captured = _list_joins_decomposed(torch, model, args, kwargs, dynamic)
        torch.onnx.export(captured, args, str(path), kwargs=kwargs, input_names=list(tensors), output_names=[OUTPUT_NAME],
                          dynamic_shapes=dynamic if captured is model else None, dynamo=True, external_data=False,
                          verbose=False)
    onnx.checker.check_model(onnx.load(str(path)))


def export_classifier(
    model: Any,
    example_inputs: Any,
    out_dir: str | Path,
    *,
    torch_factory: str | None = None,
    torch_factory_kwargs: dict[str, Any] | None = None,
    input_name: str = INPUT_NAME,
    **description: Any,
) -> ModelDir:
    """Write ``model`` (an ``nn.Module``) as a format-2 classifier directory; return it opened.

    - ``example_inputs``: one array (a one-input model, passed positionally; named ``input_name``)
      or a dict name -> array (several inputs, passed to ``forward`` by name). uint8 or float32, any
      N >= 1; every axis but the first is fixed in the exported graph.
    - ``torch_factory``: ``"package.module:function"``; ``function(**torch_factory_kwargs)`` must return
      an untrained module of the same architecture; then ``classifier.pt`` (the state dict) is written
      too and Torch can be the reference. Without it the directory is ONNX-only.
    - ``description``: the keywords shared with ``write_classifier_dir`` (``decision``, ``threshold``,
      ``goal_index``, ``classes``, ``layouts``, ``env_keys``, ``input_ranges``, ``info``, ``overwrite``),
      documented on :class:`~pytest_drlreward.classifier.writer.Description`.

    Exports ONNX with ``torch.onnx`` (dynamic batch axis, checked with ``onnx.checker``), compiles and runs
    it on every installed engine (``GraphLoadError`` naming the engine, the operators and the fix if one
    cannot; see ``loadcheck.py``), hashes every file into ``metadata.json`` and renames the finished
    directory into place. A float32 input needs its ``input_ranges`` (what parity draws from).
    """
    described = Description.of("export_classifier", description)
    torch = require("torch", "export_classifier", extra="torch")
    single = not isinstance(example_inputs, Mapping)
    examples = _check_examples(example_inputs, input_name)
    names = list(examples) if single else _forward_order(model, list(examples))
    examples = {name: examples[name] for name in names}
    specs = described.inputs([(name, a.shape[1:], str(a.dtype)) for name, a in examples.items()])
    if torch_factory is not None:
        from pytest_drlreward.classifier.trust import locate_factory

        # the rules a loader applies (no stdlib, defined, outside the directory); the exporter names the factory, so its
        # module is trusted here (a loader trusts it when it is project code or in its drl_trusted_modules)
        locate_factory(torch_factory, out_dir, trusted_modules=[str(torch_factory).partition(":")[0]])
        import_factory(torch_factory)  # fail now, not when someone loads the directory
    model = model.eval()
    with torch.inference_mode():
        out = _call(model, torch, {n: a[:1] for n, a in examples.items()}, single)
    shape = tuple(out.shape)
    if len(shape) not in (1, 2) or shape[0] != 1:
        raise ValueError(f"the model returned an output of shape {shape} for 1 example; expected (1,) or (1, K)")
    output, rule, classes = described.output_and_rule(OUTPUT_NAME, shape)
    with atomic_directory(Path(out_dir), overwrite=described.overwrite) as tmp:
        try:
            _export_onnx(model, examples, single, tmp / ONNX_FILE)
        except RuntimeError as error:  # torch.onnx's C++ writer: "basic_ios::clear: iostream error" on a full disk
            if "iostream" not in str(error):
                raise
            full = shutil.disk_usage(tmp).free < (256 << 20)
            raise OSError(errno.ENOSPC if full else errno.EIO, f"cannot write {tmp / ONNX_FILE}: {error}") from None
        prove_graph_loads(tmp / ONNX_FILE, examples, "the ONNX export of the model")  # before anything is renamed into place
        files = [ONNX_FILE]
        if torch_factory is not None:
            torch.save(model.state_dict(), tmp / TORCH_FILE)
            files.append(TORCH_FILE)
        write_metadata(tmp, metadata_for(specs, output, rule, classes, {name: sha256_of(tmp / name) for name in files},
                                         torch_factory=torch_factory, torch_factory_kwargs=torch_factory_kwargs,
                                         info=described.info))
    return open_model_dir(out_dir)
