"""(Re)create ``models/tiny``: the TinyCNN with hand-set weights, exported with ``export_classifier``.

Run from this directory: ``python make_model.py``. Deterministic (``torch.manual_seed`` and a seeded
numpy generator). The classifier says "goal" when an image's mean red exceeds its mean blue: conv
channels 0 and 1 are the per-pixel red-minus-blue and blue-minus-red (their ReLUs average to
mean(R - B) and mean(B - R)); channels 2 and 3 keep their seeded random 3x3 kernels, weakly weighted,
so the padded convolution matters for parity. ``labelled_images.npz`` holds, as a real labelled set
would, images of two kinds with bool labels (True = goal): colour images with a clear margin, and the
env's own camera images labelled with the env's truth, two of them just inside the goal radius, where
the classifier says "no goal" (so the project sets ``drl_min_accuracy = 0.95``). The script checks
the classifier gets exactly those two wrong before anything is kept.

The example batch given to ``export_classifier`` is ONE image, on purpose: with ``forward(self, x)``,
it is what a downstream project would most likely pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from line_env import GOAL_RADIUS, LineEnv
from tiny_model import IMAGE_SIZE, build

import pytest_drlreward

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "models" / "tiny"
SEED = 0
GAIN = 8.0  # logit gap per unit of mean(R - B), in [0, 1] colour units
N_LABELLED = 24  # colour images
N_ENV_LABELLED = 24  # env camera images, the last two just inside the goal radius


def make_classifier(seed: int = SEED) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build()
    red, blue = 0, 2
    with torch.no_grad():
        model.conv.weight[:2].zero_()
        model.conv.bias[:2].zero_()
        model.conv.weight[0, red, 1, 1], model.conv.weight[0, blue, 1, 1] = 1.0, -1.0
        model.conv.weight[1, red, 1, 1], model.conv.weight[1, blue, 1, 1] = -1.0, 1.0
        model.head.weight[:, 2:] *= 0.1
        model.head.weight[:, :2] = torch.tensor([[-GAIN, GAIN], [GAIN, -GAIN]]) / 2
    return model.eval()


def make_labelled_images(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Half redder than blue (label 1), half bluer (label 0), mean red and blue far apart, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(N_LABELLED) % 2
    images = np.empty((N_LABELLED, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for i, label in enumerate(labels):
        strong, weak = rng.uniform(140, 230), rng.uniform(20, 75)
        base = np.array([strong, rng.uniform(0, 255), weak] if label else [weak, rng.uniform(0, 255), strong])
        # blocky noise (4x4-pixel cells): varied images that still compress to a few KB
        noise = np.kron(rng.normal(0, 20, size=(4, 4, 3)), np.ones((IMAGE_SIZE // 4, IMAGE_SIZE // 4, 1)))
        images[i] = np.clip(base + noise, 0, 255).astype(np.uint8)
    return images, labels.astype(np.int64)


def make_env_images(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Camera images of ``LineEnv`` states (the point anywhere, half of them in the goal), labelled with the
    truth; the last two are just inside the goal radius (true goals the classifier misses)."""
    rng = np.random.default_rng(seed)
    env = LineEnv()
    env.reset(seed=seed)
    images, labels = [], []
    for i in range(N_ENV_LABELLED):
        if i >= N_ENV_LABELLED - 2:
            distance = GOAL_RADIUS * 0.998
        else:
            distance = GOAL_RADIUS * (rng.uniform(0.0, 0.9) if i % 2 else rng.uniform(1.1, 3.0))
        angle = rng.uniform(0, 2 * np.pi)
        env._goal = rng.uniform(-0.5, 0.5, size=2)
        env._point = env._goal + distance * np.array([np.cos(angle), np.sin(angle)])
        images.append(env.camera_image())
        labels.append(env._at_goal())
    return np.stack(images), np.array(labels, dtype=bool)


def main() -> int:
    model = make_classifier()
    colour_images, colour_labels = make_labelled_images()
    env_images, env_labels = make_env_images()
    images = np.concatenate([colour_images, env_images])
    labels = np.concatenate([colour_labels.astype(bool), env_labels])
    with torch.inference_mode():
        logits = model(torch.from_numpy(images)).numpy()
    wrong = np.flatnonzero((logits.argmax(axis=1) == 1) != labels)
    expected_wrong = [len(labels) - 2, len(labels) - 1]
    margin = np.abs(logits[:N_LABELLED, 1] - logits[:N_LABELLED, 0]).min()
    if wrong.tolist() != expected_wrong or margin < 1.0:
        print(f"the model gets images {wrong.tolist()} wrong (expected {expected_wrong}) or the colour images' "
              f"margin {margin:.3f} is below 1", file=sys.stderr)
        return 1
    pytest_drlreward.export_classifier(
        model, images[:1], OUT_DIR, torch_factory="tiny_model:build",
        info={"made_by": "tests/downstream/make_model.py", "seed": SEED, "rule": "mean red > mean blue"},
    )
    np.savez_compressed(OUT_DIR / "labelled_images.npz", images=images, labels=labels)
    size = sum(path.stat().st_size for path in OUT_DIR.iterdir())
    print(f"wrote {OUT_DIR} ({size} bytes); {len(labels)} labelled images ({len(wrong)} near the goal boundary "
          f"misclassified), smallest logit margin of the colour images {margin:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
