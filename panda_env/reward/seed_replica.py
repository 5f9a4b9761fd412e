"""The seed demo's reward path, reproduced for ``--profile seed`` timings.

As the seed did it: PIL converts the 960x720 camera image, resizes its short side to 224 (224x298),
normalises with ImageNet statistics, and one image per call goes through SqueezeNet; Torch runs with
autograd on, OpenVINO (default properties) gets the PIL-preprocessed float tensor. The network weights
are our classifier's (trained on our own small overhead-camera images), so in this profile the reward's
*cost* is faithful while its decisions are not meaningful: the seed profile is for timing only.
"""

from __future__ import annotations

import warnings

import numpy as np

from panda_env.reward import open_model_dir
from panda_env.reward.model import IMAGENET_MEAN, IMAGENET_STD

SEED_BACKENDS = ("torch", "openvino")


class _SeedPreprocess:
    def __init__(self) -> None:
        from torchvision import transforms

        self.transform = transforms.Compose([
            transforms.Resize(224), transforms.ToTensor(),
            transforms.Normalize(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD))])

    def __call__(self, image: np.ndarray):
        from PIL import Image

        return self.transform(Image.fromarray(image)).unsqueeze(0)


class SeedTorchBackend:
    name = "torch"

    def __init__(self, net, goal_index: int) -> None:
        self.net, self.preprocess, self.goal_index = net, _SeedPreprocess(), goal_index

    def logits(self, images: np.ndarray) -> np.ndarray:
        return np.stack([self.net(self.preprocess(im)).detach().numpy()[0] for im in images])


class SeedOpenVinoBackend:
    name = "openvino"

    def __init__(self, net, goal_index: int) -> None:
        import openvino as ov
        import torch

        self.preprocess, self.goal_index = _SeedPreprocess(), goal_index
        with warnings.catch_warnings():  # convert_model traces with torch.jit, which torch now calls deprecated
            warnings.simplefilter("ignore", FutureWarning)
            model = ov.convert_model(net, example_input=torch.zeros(1, 3, 224, 298))
        self.compiled = ov.Core().compile_model(model, "CPU")

    def logits(self, images: np.ndarray) -> np.ndarray:
        return np.stack([self.compiled(self.preprocess(im).numpy())[0][0] for im in images])


def seed_backend(backend: str, model_dir=None) -> SeedTorchBackend | SeedOpenVinoBackend:
    """The seed's reward path on ``backend`` (torch or openvino): ``.name``, ``.goal_index``, ``.logits``."""
    if backend not in SEED_BACKENDS:
        raise ValueError(f"the seed profile supports reward backends {', '.join(SEED_BACKENDS)} (and oracle), "
                         f"got {backend!r}")
    directory = open_model_dir(model_dir)
    net = directory.build_torch_module().net.eval()
    backend_class = SeedTorchBackend if backend == "torch" else SeedOpenVinoBackend
    return backend_class(net, directory.goal_index)
