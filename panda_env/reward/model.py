"""The reward classifier: SqueezeNet 1.1 with two classes behind one shared preprocessing module.

``RewardClassifier`` takes uint8 RGB images (N, H, W, 3) and returns logits (N, 2); class 1 means
goal. The preprocessing (uint8 HWC to float CHW, optional resize, ImageNet normalisation) lives inside
the module, so it is exported into the ONNX graph and every backend computes the same numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import squeezenet1_0, squeezenet1_1

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ARCHITECTURES = {"squeezenet1_1": squeezenet1_1, "squeezenet1_0": squeezenet1_0}


class Preprocess(nn.Module):
    """uint8 (N, H, W, 3) -> normalised float32 (N, 3, H', W'); resized to ``input_size`` if given."""

    def __init__(self, input_size: int | None = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0),
                             persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).to(torch.float32)
        if self.input_size is not None:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return (x - self.mean) * self.inv_std


class RewardClassifier(nn.Module):
    """Preprocessing + SqueezeNet, 2 classes, trained from scratch."""

    def __init__(self, architecture: str = "squeezenet1_1", input_size: int | None = None) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {architecture!r}; allowed: {', '.join(ARCHITECTURES)}")
        self.preprocess = Preprocess(input_size)
        self.net = ARCHITECTURES[architecture](weights=None, num_classes=2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.preprocess(images))


def build_classifier(architecture: str = "squeezenet1_1", input_size: int | None = None) -> RewardClassifier:
    """Factory named in ``metadata.json`` (``torch_factory``) to rebuild the module before loading weights."""
    return RewardClassifier(architecture, input_size)
