"""What the decision rule costs inside the env step: the shipped classifier (argmax over 2 logits)
against the same network with one logit (``logit_goal - logit_not_goal``) and the rule ``sigmoid > 0.5``,
which decides exactly the same. Both envs step in alternating rounds in one run, so the ratio holds
under load even where absolute times do not.

``python -m panda_env.bench.rule_cost [--steps 300] [--rounds 5] [--backend onnxruntime]`` writes the
machine line and a JSON result (median ms a step for each rule and their ratio) to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def single_logit_twin(shipped: Path, out_dir: Path) -> Any:
    """The shipped ONNX graph with its 2 logits reduced to one, ``l1 - l0``, as a ``sigmoid > 0.5`` directory."""
    import onnx
    from onnx import helper, numpy_helper

    from pytest_drlreward.classifier.writer import write_classifier_dir

    model = onnx.load(str(shipped / "classifier.onnx"))
    graph = model.graph
    old = graph.output[0]
    graph.initializer.append(numpy_helper.from_array(np.array([[-1.0], [1.0]], np.float32), "goal_minus_not_goal"))
    graph.node.append(helper.make_node("MatMul", [old.name, "goal_minus_not_goal"], ["logit_2d"]))
    graph.initializer.append(numpy_helper.from_array(np.array([1], np.int64), "squeeze_axis"))
    graph.node.append(helper.make_node("Squeeze", ["logit_2d", "squeeze_axis"], ["logit"]))
    graph.output.remove(old)
    graph.output.append(helper.make_tensor_value_info("logit", onnx.TensorProto.FLOAT, [None]))
    path = out_dir / "single_logit.onnx"
    onnx.save(model, str(path))
    return write_classifier_dir(path, out_dir / "sigmoid", threshold=0.5)


def _interleaved_ms(envs: dict[str, Any], steps: int, seed: int) -> dict[str, float]:
    """Median ms a step of each env, stepping them in turn (the first changes each step) with the same actions."""
    rng = np.random.default_rng(seed)
    names = list(envs)
    for env in envs.values():
        env.reset(seed=seed)
    times: dict[str, list[float]] = {name: [] for name in names}
    for step in range(steps):
        action = rng.uniform(-0.1, 0.1, 2).astype(np.float32)
        for name in names[step % 2:] + names[:step % 2]:
            start = time.perf_counter()
            _, _, terminated, truncated, _ = envs[name].step(action)
            times[name].append(time.perf_counter() - start)
            if terminated or truncated:
                envs[name].reset(seed=seed + step)
    return {name: 1000 * float(np.median(values)) for name, values in times.items()}


def measure(steps: int = 300, rounds: int = 5, backend: str = "onnxruntime") -> dict[str, Any]:
    """Median env-step ms per rule (median over rounds of interleaved steps) and the sigmoid/argmax ratio."""
    from panda_env.envs.hover import PandaHoverEnv
    from panda_env.reward import DEFAULT_MODEL_DIR

    with tempfile.TemporaryDirectory() as tmp:
        sigmoid_dir = single_logit_twin(DEFAULT_MODEL_DIR, Path(tmp))
        envs = {"argmax": PandaHoverEnv(reward_backend=backend, max_episode_steps=10),
                "sigmoid": PandaHoverEnv(reward_backend=backend, model_dir=sigmoid_dir.path, max_episode_steps=10)}
        try:
            per_round = [_interleaved_ms(envs, steps, seed) for seed in range(rounds)]
        finally:
            for env in envs.values():
                env.close()
    medians = {name: float(np.median([r[name] for r in per_round])) for name in envs}
    ratios = [r["sigmoid"] / r["argmax"] for r in per_round]
    return {"backend": backend, "steps_per_round": steps, "rounds": rounds, "median_step_ms": medians,
            "sigmoid_over_argmax": float(np.median(ratios)), "ratio_per_round": ratios}


def main(argv: list[str] | None = None) -> int:
    from panda_env.bench.machine import describe_machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", default="onnxruntime")
    args = parser.parse_args(argv)
    result = measure(args.steps, args.rounds, args.backend)
    sys.stdout.write(describe_machine() + "\n" + json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
