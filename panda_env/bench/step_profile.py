"""Step profiler: the median cost of each part of a training step, measured in one run.

Parts: the arm move (IK or the seed's physics), rendering, preprocessing (inside every backend's
graph; timed alone with Torch for reference), reward inference per backend, and one SAC gradient step.
Rows cover both render qualities at several image sizes, plus the seed demo's profile.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from panda_env.envs import task
from panda_env.sim import PandaScene, SceneConfig
from pytest_drlreward.classifier.int8 import has_int8_model
from pytest_drlreward.timing import measure, median_ms


def _scene_costs(config: SceneConfig, rounds: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    points = rng.uniform(task.WORKSPACE_LOW, task.WORKSPACE_HIGH, size=(rounds + 5, 2))
    scene = PandaScene(config)
    try:
        it = iter(points)
        move = median_ms(lambda: scene.move_to(*next(it)), rounds)
        render = median_ms(scene.render, rounds)
        image = scene.render()
    finally:
        scene.close()
    return {"move_ms": move, "render_ms": render, "image": image}


def _model_dir_for(image_size: int, workdir: Path):
    """The shipped classifier at its own size; a same-architecture stand-in (random weights) otherwise."""
    from panda_env.reward import open_model_dir
    from panda_env.reward.model import build_classifier
    from pytest_drlreward.classifier import export_classifier

    shipped = open_model_dir()
    if shipped.image_shape[0] == image_size:
        return shipped
    images = np.zeros((2, image_size, image_size, 3), dtype=np.uint8)
    return export_classifier(build_classifier(), images, workdir / f"stand_in_{image_size}",
                             torch_factory="panda_env.reward.model:build_classifier")


def _timed(costs: dict, key: str, call, rounds: int, warmup: int = 5) -> None:
    """``costs[key + "_ms"]``: the median ms of ``call``; ``_q1_ms`` / ``_q3_ms``: its quartiles."""
    sample = measure(call, rounds, warmup)
    costs[f"{key}_ms"], costs[f"{key}_q1_ms"], costs[f"{key}_q3_ms"] = sample.median_ms, sample.q1_ms, sample.q3_ms


def _reward_costs(image: np.ndarray, model_dir, backends, rounds: int) -> dict[str, float]:
    import torch

    from panda_env.reward import load_backend
    from panda_env.reward.model import Preprocess

    batch = image[None]
    costs = {}
    preprocess = Preprocess()
    with torch.inference_mode():
        costs["preprocess_ms"] = median_ms(lambda: preprocess(torch.from_numpy(batch)), rounds)
    for name in backends:
        backend = load_backend(name, model_dir)
        _timed(costs, f"reward_{name}", functools.partial(backend.logits, batch), rounds)
    if "openvino" in backends and has_int8_model(model_dir):
        backend = load_backend("openvino", model_dir, int8_model=True)
        _timed(costs, "reward_openvino-int8", functools.partial(backend.logits, batch), rounds)
    return costs


def sac_learning_step_ms(rounds: int = 50, seed: int = 0, threads: int | None = None,
                         profile: str = "fast", learner: str | None = None) -> float:
    """Median cost of one SAC gradient step (batch 256, the profile's networks, torch threads and learner:
    ``FastSAC`` for the fast profile, SB3's own ``SAC.train`` for the original).

    Measured on a replay buffer filled with 1000 random transitions; ``threads`` overrides the profile's."""
    from panda_env.bench.learner import filled_agent
    from panda_env.envs.hover import PandaHoverEnv
    from panda_env.training.profiles import check_learner, profile_torch_threads

    env = PandaHoverEnv()
    try:
        with profile_torch_threads(profile, threads):
            agent = filled_agent(check_learner(learner, profile), env, seed, profile)
            return median_ms(lambda: agent.train(gradient_steps=1, batch_size=agent.batch_size), rounds)
    finally:
        env.close()


def profile_steps(image_sizes=(64, 96), qualities=("fast", "full"), backends=("torch", "onnxruntime", "openvino"),
                  rounds: int = 50, include_seed: bool = True, seed: int = 0, progress_bar: bool = False) -> dict:
    """Measure every part for each (quality, image size), the SAC step, and the seed profile.

    ``progress_bar``: show the rows measured on stderr (``panda_env.training.bar``)."""
    from panda_env.training.bar import progress
    from panda_env.training.profiles import scene_config

    parts = 1 + len(image_sizes) * len(qualities) + 2 * include_seed
    bar = progress(parts, "bench", unit="part") if progress_bar else None
    tick = bar.update if bar is not None else (lambda n=1: None)
    try:
        return _profile_rows(image_sizes, qualities, backends, rounds, include_seed, seed, tick, scene_config)
    finally:
        if bar is not None:
            bar.close()


def _profile_rows(image_sizes, qualities, backends, rounds, include_seed, seed, tick, scene_config) -> dict:
    learning = sac_learning_step_ms(rounds, seed, profile="fast")
    tick()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in image_sizes:
            model_dir = _model_dir_for(size, Path(tmp))
            for quality in qualities:
                scene = _scene_costs(SceneConfig(image_size=size, render_quality=quality), rounds, seed)
                row = {"profile": "fast", "render_quality": quality, "image_size": size,
                       "move_ms": scene["move_ms"], "render_ms": scene["render_ms"], "sac_learning_ms": learning}
                row.update(_reward_costs(scene["image"], model_dir, backends, rounds))
                rows.append(row)
                tick()
    if include_seed:
        from panda_env.reward.seed_replica import seed_backend

        config = scene_config("original")
        scene = _scene_costs(config, max(rounds // 10, 3), seed)
        row = {"profile": "original", "render_quality": config.render_quality,
               "image_size": f"{config.camera_resolution[0]}x{config.camera_resolution[1]}",
               "move_ms": scene["move_ms"], "render_ms": scene["render_ms"],
               "sac_learning_ms": sac_learning_step_ms(rounds, seed, profile="original")}
        tick()
        for name in ("torch", "openvino"):
            backend = seed_backend(name)
            _timed(row, f"reward_{name}", functools.partial(backend.logits, scene["image"][None]),
                   max(rounds // 5, 3), warmup=2)
        rows.append(row)
        tick()
    for row in rows:
        add_step_totals(row, (*backends, "openvino-int8"))
    return {"rows": rows, "sac_learning_ms": learning}


def predicted_saving(reward_share: float, speedup: float) -> float:
    """Amdahl's law: the share of the total time saved when a part taking ``reward_share`` of it runs
    ``speedup`` times faster: ``reward_share * (1 - 1/speedup)``."""
    if not 0 <= reward_share <= 1 or speedup <= 0:
        raise ValueError(f"reward_share must be in [0, 1] and speedup positive, got {reward_share} and {speedup}")
    return reward_share * (1.0 - 1.0 / speedup)


def add_step_totals(row: dict, names) -> dict:
    """Per reward backend in ``row``: the step total, the reward's share of it, and (against Torch) its
    speed-up and the saving of the whole step that Amdahl's law predicts."""
    for name in names:
        key = f"reward_{name}_ms"
        if key in row:
            step = row["move_ms"] + row["render_ms"] + row[key] + row["sac_learning_ms"]
            row[f"step_{name}_ms"] = step
            row[f"reward_{name}_share"] = row[key] / step
    if "step_torch_ms" in row:
        for name in names:
            if f"step_{name}_ms" in row:
                speedup = row["reward_torch_ms"] / row[f"reward_{name}_ms"]
                row[f"speedup_{name}"] = speedup
                row[f"predicted_saving_{name}"] = predicted_saving(row["reward_torch_share"], speedup)
                quartiles = [row.get(f"reward_{b}_q{q}_ms") for b in ("torch", name) for q in (1, 3)]
                if None not in quartiles:  # the range the speed-up spans between the two timings' quartiles
                    t1, t3, c1, c3 = quartiles
                    row[f"speedup_{name}_iqr"] = [t1 / c3, t3 / c1]
    return row


def bench_warnings(rows: list[dict], load: float | None = None, cores: int | None = None) -> list[str]:
    """Warnings for the rows whose OpenVINO speed-up is within its spread, and for a busy machine."""
    from panda_env.bench.spread import keyed_spread, noise_warnings

    figures = {}
    for row in rows:
        spread = keyed_spread(row, "speedup_openvino")
        if spread is not None:
            figures[f"the OV speed-up ({row['profile']}, {row['render_quality']}, {row['image_size']})"] = (spread, 1.0)
    return noise_warnings(figures, load, cores)
