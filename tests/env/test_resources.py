"""Resources: PyBullet clients freed, closed envs unusable, backend threads and options checked.

Split from the former test_reliability.py; each test fails without the fix it names.
"""

from __future__ import annotations

import gc

import numpy as np
import pybullet
import pytest

from panda_env.envs.hover import PandaHoverEnv
from panda_env.reward import load_backend


def test_an_env_dropped_without_close_frees_its_pybullet_client():
    env = PandaHoverEnv()
    env.reset(seed=0)
    client_id = env._scene.client.client_id
    assert pybullet.getConnectionInfo(client_id)["isConnected"]
    del env
    gc.collect()
    assert not pybullet.getConnectionInfo(client_id)["isConnected"]


def test_a_closed_env_cannot_render_another_envs_scene():
    env = PandaHoverEnv()
    env.reset(seed=0)
    env.close()
    other = PandaHoverEnv()  # may get the freed client id
    try:
        other.reset(seed=1)
        with pytest.raises(RuntimeError, match="disconnected"):
            env.camera_image()
        with pytest.raises(RuntimeError):
            env.step([0.0, 0.0])
    finally:
        other.close()


@pytest.mark.parametrize("name", ["torch", "onnxruntime", "openvino"])
@pytest.mark.parametrize("threads", [0, -1, 4096, 10**6, 1.5, True, "2"])
def test_backend_threads_out_of_range_are_refused_naming_the_option(name, threads):
    with pytest.raises(ValueError, match=f"{name} backend option threads={threads!r} must be an integer from 1 to"):
        load_backend(name, threads=threads)


def test_torch_backend_threads_apply_to_its_calls_only():
    import torch

    before = torch.get_num_threads()
    backend = load_backend("torch", threads=1)
    backend.logits(np.zeros((1, *backend.image_shape), dtype=np.uint8))
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(("options", "named"), [
    ({"config": {"NO_SUCH_PROPERTY": 1}}, "NO_SUCH_PROPERTY=1"),
    ({"config": {"INFERENCE_NUM_THREADS": "many"}}, "INFERENCE_NUM_THREADS='many'"),
    ({"performance_hint": "FASTEST"}, "performance_hint 'FASTEST'"),
    ({"device": "TPU"}, "device 'TPU'"),
])
def test_openvino_option_mistakes_name_the_option(options, named):
    with pytest.raises(ValueError) as error:
        load_backend("openvino", **options)
    assert named in str(error.value) and "cannot compile" not in str(error.value)
