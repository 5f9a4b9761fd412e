"""The original demo's reward path, reproduced for ``--profile seed`` timings.

As the demo did it: the 960x720 camera image is flipped to BGR, PIL resizes its short side to 224
(224x298), ImageNet statistics normalise it, and one image per call goes through torchvision's
SqueezeNet 1.0 with a 2-class head (about 2.4x the compute of our 1.1); Torch runs with autograd on,
OpenVINO (default properties) gets the PIL-preprocessed float tensor; class 0 means goal. The network
has seeded random weights: no trained SqueezeNet 1.0 for that camera exists here, and this profile
measures the reward's *cost*, which does not depend on the weights; its decisions mean nothing.
"""

from __future__ import annotations

import warnings

import numpy as np

from panda_env.reward.model import IMAGENET_MEAN, IMAGENET_STD

SEED_BACKENDS = ("torch", "openvino")
SEED_IMAGE_SHAPE = (720, 960, 3)  # the demo camera's image (training.profiles.SEED_RESOLUTION is its width, height)


class _WarmUp:
    """``warm_up`` as the plugin's backends have it: one untimed call, so a timed run does not pay first-call costs."""

    def warm_up(self, batch_size: int = 1) -> None:
        self.logits(np.zeros((batch_size, *SEED_IMAGE_SHAPE), dtype=np.uint8))


class _SeedPreprocess:
    def __init__(self) -> None:
        from torchvision import transforms

        self.transform = transforms.Compose([
            transforms.Resize(224), transforms.ToTensor(),
            transforms.Normalize(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD))])

    def __call__(self, image: np.ndarray):
        from PIL import Image

        return self.transform(Image.fromarray(np.ascontiguousarray(image[..., ::-1]))).unsqueeze(0)


class SeedTorchBackend(_WarmUp):
    name = "torch"

    def __init__(self, net, goal_index: int) -> None:
        self.net, self.preprocess, self.goal_index = net, _SeedPreprocess(), goal_index

    def logits(self, images: np.ndarray) -> np.ndarray:  # autograd on, as in the demo
        return np.stack([self.net(self.preprocess(im)).detach().numpy()[0] for im in images])


class SeedOpenVinoBackend(_WarmUp):
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


SEED_GOAL_INDEX = 0  # the demo stopped on `if not classifier_result`: class 0 meant goal


def seed_network(seed: int = 0):
    """torchvision's SqueezeNet 1.0 with a 2-class head and seeded random weights, in eval mode."""
    import torch
    from torchvision.models import squeezenet1_0

    torch.manual_seed(seed)
    return squeezenet1_0(weights=None, num_classes=2).eval()


def seed_backend(backend: str, model_dir=None) -> SeedTorchBackend | SeedOpenVinoBackend:
    """The demo's reward path on ``backend`` (torch or openvino): ``.name``, ``.goal_index``, ``.logits``.

    ``model_dir`` is accepted for a uniform signature and not used: the demo's network is not ours.
    """
    if backend not in SEED_BACKENDS:
        raise ValueError(f"the seed profile supports reward backends {', '.join(SEED_BACKENDS)} (and oracle), "
                         f"got {backend!r}")
    backend_class = SeedTorchBackend if backend == "torch" else SeedOpenVinoBackend
    return backend_class(seed_network(), SEED_GOAL_INDEX)
