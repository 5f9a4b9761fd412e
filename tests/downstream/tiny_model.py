"""A downstream project's classifier: a tiny CNN, uint8 RGB (N, 16, 16, 3) -> logits (N, 2).

Class 1 ("goal") means the image is redder than it is blue. ``make_model.py`` sets the weights and
writes ``models/tiny`` with ``pytest_drlreward.export_classifier``; the classifier directory rebuilds
the module with ``build()`` (its ``torch_factory``, ``tiny_model:build``).
"""

from __future__ import annotations

import torch
from torch import nn

IMAGE_SIZE = 16


class TinyCNN(nn.Module):
    """Scale to [0, 1], a 3x3 convolution, ReLU, global average pooling, a linear head."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, kernel_size=3, padding=1)
        self.head = nn.Linear(channels, 2)

    def forward(self, x):  # x: uint8 (N, H, W, 3); deliberately not called "images"
        x = x.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def build() -> TinyCNN:
    """An untrained TinyCNN (the classifier directory loads its state dict into it)."""
    return TinyCNN()
