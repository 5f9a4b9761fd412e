"""Issue 20 case 3 and 13: an SB3 agent .zip from elsewhere runs none of its pickled code; a bad drl_policy is one
usage error at start."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest_plugins = ["pytester"]


class _Marker:
    """Unpickling this writes a marker file (what a hostile agent file could do)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.fixture(scope="module")
def agent_zip(tmp_path_factory) -> Path:
    import gymnasium as gym
    from stable_baselines3 import SAC

    path = tmp_path_factory.mktemp("agent") / "agent.zip"
    model = SAC("MlpPolicy", gym.make("Pendulum-v1"), policy_kwargs={"net_arch": [8]}, buffer_size=100, device="cpu")
    model.save(path)
    return path


def _hostile(agent_zip: Path, tmp_path: Path, key: str) -> tuple[Path, Path]:
    """A copy of the agent whose pickled ``key`` runs ``touch MARKER`` when unpickled."""
    marker, hostile = tmp_path / f"ran_{key}", tmp_path / "hostile.zip"
    with zipfile.ZipFile(agent_zip) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                payload = base64.b64encode(pickle.dumps(_Marker(str(marker)))).decode()
                data[key] = {**(data[key] or {":type:": "numpy.ndarray"}), ":serialized:": payload}
                content = json.dumps(data).encode()
            target.writestr(item, content)
    return hostile, marker


@pytest.mark.parametrize("key", ["policy_class", "observation_space", "_last_obs", "lr_schedule", "replay_buffer_class"])
def test_drl_policy_unpickles_nothing_from_the_agent(agent_zip, tmp_path, key):
    from pytest_drlreward.env.policies import load_policy

    hostile, marker = _hostile(agent_zip, tmp_path, key)
    policy = load_policy(str(hostile))
    assert not marker.exists(), f"unpickling {key} ran the sender's code"
    action = policy(np.zeros(3, np.float32))
    assert np.asarray(action).shape == (1,)


def test_evaluate_loads_the_agent_without_unpickling(agent_zip, tmp_path):
    from panda_env.training.evaluate import load_agent

    hostile, marker = _hostile(agent_zip, tmp_path, "policy_class")
    agent = load_agent(hostile)
    assert not marker.exists()
    original = load_agent(agent_zip)
    obs = np.array([0.1, -0.2, 0.3], np.float32)
    np.testing.assert_allclose(agent.predict(obs, deterministic=True)[0], original.predict(obs, deterministic=True)[0])


def test_a_policy_class_from_outside_sb3_needs_trust(agent_zip, tmp_path):
    from pytest_drlreward.env.policies import PolicyError, load_policy

    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(agent_zip) as source, zipfile.ZipFile(foreign, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                data["policy_class"]["__module__"] = "evil_policies"
                content = json.dumps(data).encode()
            target.writestr(item, content)
    with pytest.raises(PolicyError, match="not stable-baselines3.*trust_code"):
        load_policy(str(foreign))


@pytest.mark.parametrize(("policy", "files", "named"), [
    ("corrupt.zip", {"corrupt.zip": "not a zip"}, "not a stable-baselines3 agent"),
    ("pols:CONSTANT", {"pols.py": "CONSTANT = 3\n"}, "defines no function or class 'CONSTANT'"),
    ("pols:nothing_in", {"pols.py": "def nothing_in():\n    return 0\n"}, "takes no argument"),
])
def test_a_bad_drl_policy_is_one_usage_error_at_start(pytester, policy, files, named):
    for name, text in files.items():
        (pytester.path / name).write_text(text)
    pytester.makeini(f"[pytest]\npythonpath = .\ndrl_policy = {policy}\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*drl_policy*{named}*"])
