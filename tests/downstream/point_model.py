"""The point env's classifier: goal when both mean red and mean green exceed a threshold, set by hand.

``build()`` is the ``torch_factory``; :func:`make_classifier` sets the weights for a goal threshold in
env units: 0.8 (the truth) or 0.7 (a classifier wrong in a band next to the goal, what an agent
exploits). Logits (N, 2): ``[-g s, g s]`` with ``s = min(red, green) - threshold`` in [0, 1] colour units.
"""

from __future__ import annotations

import torch
from point_env import BOUNDARY_JUMP, GOAL
from torch import nn

GAIN = 40.0


class MinThreshold(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Linear(3, 2)  # [red - threshold, red - green]
        self.head = nn.Linear(1, 2)

    def forward(self, x):
        mean = x.permute(0, 3, 1, 2).to(torch.float32).mean(dim=(2, 3)) / 255.0
        z = self.features(mean)
        score = z[:, :1] - torch.relu(z[:, 1:])  # min(red, green) - threshold
        return self.head(score)


def build() -> MinThreshold:
    return MinThreshold()


def make_classifier(threshold: float = GOAL) -> MinThreshold:
    """Goal when x > ``threshold`` and y > ``threshold`` (exact at 0.8, where the image jumps)."""
    level = 40 + 160 * threshold + (BOUNDARY_JUMP / 2 if threshold == GOAL else -0.5)
    model = build()
    with torch.no_grad():
        model.features.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [1.0, -1.0, 0.0]]))
        model.features.bias.copy_(torch.tensor([-level / 255.0, 0.0]))
        model.head.weight.copy_(torch.tensor([[-GAIN], [GAIN]]))
        model.head.bias.zero_()
    return model.eval()


def export(out_dir, threshold: float = GOAL):
    """Write the classifier directory for ``threshold`` with ``export_classifier``."""
    import numpy as np
    from point_env import PointEnv

    import pytest_drlreward

    env = PointEnv()
    env.reset(seed=0)
    example = np.stack([env.camera_image()])
    return pytest_drlreward.export_classifier(make_classifier(threshold), example, out_dir, torch_factory="point_model:build",
                                              info={"threshold": threshold})
