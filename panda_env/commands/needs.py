"""What each command of ``python -m panda_env`` needs installed, checked before it does any work.

The Panda stack itself (the ``panda`` extra) is checked when ``panda_env`` is imported; this adds the
engines and tools a command runs: its reward backend's engine, all three engines for the latency
tables, NNCF for ``quantize``, Ray for ``--executor ray``. One missing package is one line naming the
pip command, before a benchmark spends half a minute and then stops.
"""

from __future__ import annotations

import argparse
import importlib.util

from panda_env.envs.task import INT8_BACKEND
from pytest_drlreward.backends.registry import install_hint

# (import name, extra that installs it)
ENGINES = {"torch": ("torch", "torch"), "onnxruntime": ("onnxruntime", "onnxruntime"),
           "openvino": ("openvino", "openvino")}
ALL_ENGINES = tuple(ENGINES.values())


def _engine(backend: str) -> tuple[str, str] | None:
    """The engine a run backend needs (``openvino-int8`` runs on OpenVINO); None for the oracle or an unknown name."""
    name = backend.strip()
    return ENGINES.get("openvino" if name == INT8_BACKEND else name)


# what each command needs beyond the panda extra; a callable reads it from the parsed arguments
NEEDS = {
    "demo": lambda a: [ENGINES.get(a.backend)],
    "bench-env": lambda a: [ENGINES.get(a.backend)],
    "evaluate-classifier": lambda a: [ENGINES.get(a.backend)],
    "bench-backends": lambda a: list(ALL_ENGINES),
    "quantize": lambda a: [("openvino", "int8"), ("nncf", "int8")],
    "bench": lambda a: list(ALL_ENGINES),
    "train": lambda a: [ENGINES.get(a.backend)],
    "evaluate": lambda a: [ENGINES.get(a.backend)] if a.gif is not None else [],
    "solve-time": lambda a: [ENGINES.get(a.backend), ENGINES["torch"]],  # the seed profile runs Torch
    "compare": lambda a: [_engine(b) for b in a.backends.split(",")]
    + ([("ray", "ray")] if a.executor == "ray" else []),
    "tune": lambda a: [("optuna", "tune"), ENGINES.get(a.backend) if a.confirm else None]
    + ([("ray", "ray")] if a.executor == "ray" else []),
}
# the README's table of commands and extras is generated from this
EXTRA_OF_COMMAND = {
    "demo": "panda (+ the engine of --backend)", "bench-env": "panda (+ the engine of --backend)",
    "capture": "panda", "train-classifier": "panda", "evaluate-classifier": "panda + the engine of --backend",
    "bench-backends": "panda, onnxruntime, openvino", "quantize": "panda, int8",
    "bench": "panda, onnxruntime, openvino", "train": "panda + the engine of --backend (openvino by default)",
    "evaluate": "panda (+ the engine of --backend with --gif)", "solve-time": "panda + the engine of --backend",
    "compare": "panda + the engine of each of --backends (+ ray with --executor ray)",
    "tune": "panda, tune (+ the engine of --backend with --confirm, ray with --executor ray)",
}


def missing(args: argparse.Namespace) -> str | None:
    """The line saying what ``args.command`` needs and how to install it, or None when all is there."""
    needed = [need for need in NEEDS.get(args.command, lambda a: [])(args) if need is not None]
    absent = [(module, extra) for module, extra in dict.fromkeys(needed) if importlib.util.find_spec(module) is None]
    if not absent:
        return None
    extras = list(dict.fromkeys(extra for _, extra in absent))
    hints = "; ".join(install_hint(extra) for extra in extras)
    return f"{args.command} needs {', '.join(module for module, _ in absent)}, which is not installed: {hints}"
