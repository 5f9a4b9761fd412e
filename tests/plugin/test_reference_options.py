"""drl_reference and drl_input_keys: chosen and checked at start, one usage error naming the value."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
from repo_paths import DOWNSTREAM

pytest_plugins = ["pytester"]

SHOW = """
def test_show(drl_config):
    print(f"REFERENCE={drl_config.reference} BACKENDS={','.join(drl_config.backends)} RULE={drl_config.decision} "
          f"KEYS={drl_config.input_keys}")
"""


def _model(pytester, onnx_only: bool = False) -> None:
    shutil.copytree(DOWNSTREAM / "models" / "tiny", pytester.path / "my_model")
    shutil.copyfile(DOWNSTREAM / "tiny_model.py", pytester.path / "tiny_model.py")
    if onnx_only:
        meta = pytester.path / "my_model" / "metadata.json"
        metadata = json.loads(meta.read_text())
        del metadata["torch_factory"], metadata["files"]["classifier.pt"]
        metadata["format_version"] = 2
        metadata["inputs"] = [{**metadata.pop("input"), "layout": "NHWC"}]
        metadata["decision"] = {"kind": "argmax", "goal_index": metadata.pop("goal_index")}
        meta.write_text(json.dumps(metadata))
        (pytester.path / "my_model" / "classifier.pt").unlink()


def test_torch_is_the_reference_of_a_directory_with_a_torch_factory(pytester):
    _model(pytester)
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\n")
    pytester.makepyfile(SHOW)
    pytester.runpytest("-s").stdout.fnmatch_lines(["*REFERENCE=torch BACKENDS=onnxruntime,openvino RULE=argmax == 1*"])


def test_an_onnx_only_directory_gets_onnxruntime_as_reference_and_no_torch_candidate(pytester):
    _model(pytester, onnx_only=True)
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_input_keys = images = pixels\n")
    pytester.makepyfile(SHOW)
    pytester.runpytest("-s").stdout.fnmatch_lines(
        ["*REFERENCE=onnxruntime BACKENDS=openvino RULE=argmax == 1 KEYS={'images': 'pixels'}*"])


@pytest.mark.parametrize("ini, named", [
    ("drl_reference = tensorrt", "unknown reference 'tensorrt'"),
    ("drl_reference = nosuchmodule:forward", "cannot find module 'nosuchmodule'"),
    ("drl_reference = torch", "has no torch_factory (an ONNX-only directory)"),
    ("drl_backends = torch", "cannot run on 'torch'"),
    ("drl_input_keys = front = cam0", "the classifier takes no input 'front'; its inputs: images"),
    ("drl_input_keys = images", "must look like 'input_name = env_key'"),
])
def test_bad_reference_and_input_keys_are_usage_errors(pytester, ini, named):
    _model(pytester, onnx_only=True)
    pytester.makeini(f"[pytest]\npythonpath = .\ndrl_model = my_model\n{ini}\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert named in result.stderr.str()


def test_a_metadata_input_the_graph_lacks_is_a_usage_error_at_start(pytester):
    _model(pytester, onnx_only=True)
    meta = pytester.path / "my_model" / "metadata.json"
    metadata = json.loads(meta.read_text())
    metadata["inputs"][0]["dtype"] = "float32"
    meta.write_text(json.dumps(metadata))
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "inputs[0].dtype 'float32' of input 'images': the ONNX graph takes uint8" in result.stderr.str()


PLAIN_FACTORY = """
import gymnasium as gym
import numpy as np


class Plain(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, False, {"true_goal": False}


def make_env():
    return Plain()
"""


def test_a_factory_without_render_mode_is_never_called_with_it(pytester):
    """Reported: a plain make_env() got render_mode='rgb_array' anyway, a TypeError traceback per test. Since
    issue 27 the unverifiable decisions are one usage error at start naming the fix, or, once accepted, a skip."""
    _model(pytester)
    pytester.makepyfile(plain_env=PLAIN_FACTORY)
    ini = "[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_env = plain_env:make_env\n"
    pytester.makeini(ini)
    result = pytester.runpytest("--pyargs", "pytest_drlreward.suite", "-m", "parity", "-k", "env_images", "-rs")
    assert "TypeError" not in result.stdout.str() + result.stderr.str() and result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*takes no render_mode argument*give plain_env:make_env a render_mode argument*"])
    pytester.makeini(ini + "drl_allow_unverified = decisions: the plain env shows no image\n")
    result = pytester.runpytest("--pyargs", "pytest_drlreward.suite", "-m", "parity", "-k", "env_images", "-rs")
    assert "TypeError" not in result.stdout.str() and result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*takes no render_mode argument*"])


def test_a_reference_that_fell_back_to_a_listed_candidate_leaves_the_candidates(pytester, monkeypatch):
    """Found by CI's wheel install: without torch the reference falls back to ONNX Runtime, which the project
    lists in drl_backends; it is then the reference only (said in the reason), not a self-comparison error.
    Listing the configured reference itself stays an error."""
    import pytest_drlreward.plugin.model_settings as model_settings

    monkeypatch.setattr(model_settings, "default_reference", lambda directory: "onnxruntime")  # as if torch were absent
    _model(pytester)
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_backends = onnxruntime,openvino\n")
    pytester.makepyfile(SHOW + "\n\ndef test_reason(drl_config):\n    print('REASON=' + drl_config.reference_reason)\n")
    result = pytester.runpytest("-s")
    result.stdout.fnmatch_lines(["*REFERENCE=onnxruntime BACKENDS=openvino *",
                                 "*REASON=torch is not installed, so onnxruntime is the reference; onnxruntime is then "
                                 "the reference, not also a candidate*"])
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_backends = onnxruntime,openvino\n"
                     "drl_reference = onnxruntime\n")
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*'onnxruntime' is the reference*itself proves nothing*"])


# -- ONNX-only means ONNX-only (issue 27, item 9) -----------------------------------------------------------
BLOCK_TORCH = 'import sys\n\nsys.modules["torch"] = None  # torch is not installed: import torch fails\n'


def _foreign_factory(pytester, factory: str = "not_installed_pkg.models:build") -> None:
    """The tiny directory as someone else wrote it: its torch_factory names a package not installed here."""
    _model(pytester)
    meta = pytester.path / "my_model" / "metadata.json"
    metadata = json.loads(meta.read_text())
    metadata["torch_factory"] = factory
    meta.write_text(json.dumps(metadata))


def test_an_unresolvable_torch_factory_is_a_note_when_the_reference_is_not_torch(pytester):
    """Reported: torch not installed, drl_reference = onnxruntime (docs/trust.md's route for a directory you did not
    write); the run stopped at start because the metadata's torch_factory module could not be found."""
    _foreign_factory(pytester)
    pytester.makeconftest(BLOCK_TORCH)
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_reference = onnxruntime\n")
    result = pytester.runpytest_subprocess("--pyargs", "pytest_drlreward.suite", "-m", "parity", "-k", "random", "-v",
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:] + result.stderr.str()[-2000:]
    result.stdout.fnmatch_lines(["*test_backend_matches_reference_on_random_images*[[]openvino[]] PASSED*",
                                 "*reference onnxruntime (drl_reference in *; its torch_factory "
                                 "'not_installed_pkg.models:build' is not used (cannot find module 'not_installed_pkg.models'): the "
                                 "reference needs no Torch); candidates openvino"])
    assert "[torch]" not in result.stdout.str()
    assert len([line for line in result.stdout.lines if "not_installed_pkg" in line]) == 1  # once, in the summary


@pytest.mark.parametrize("ini, named", [
    ("", "cannot find module 'not_installed_pkg.models'*or verify the ONNX file without Torch: drl_reference = onnxruntime"),
    ("drl_reference = torch", "cannot find module 'not_installed_pkg.models'*drl_reference = onnxruntime"),
    ("drl_reference = onnxruntime\ndrl_backends = torch,openvino",
     "cannot find module 'not_installed_pkg.models'*or leave torch out of drl_backends"),
])
def test_an_unresolvable_torch_factory_stays_a_usage_error_when_torch_would_run_it(pytester, ini, named):
    if importlib.util.find_spec("torch") is None:  # not imported: pytester's in-process runs unload what they import
        pytest.skip("torch is not installed: nothing would run the factory")
    _foreign_factory(pytester)
    pytester.makeini(f"[pytest]\npythonpath = .\ndrl_model = my_model\n{ini}\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{named}*"])


@pytest.mark.parametrize("factory, problem", [
    ("not_installed_pkg.models:build", "cannot find module 'not_installed_pkg.models'"),
    ("tiny_model:buld", "tiny_model (*tiny_model.py) defines no 'buld'"),
])
def test_an_unresolvable_torch_factory_leaves_torch_out_of_the_default_candidates(pytester, factory, problem):
    _foreign_factory(pytester, factory)
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_reference = openvino\n")
    pytester.makepyfile(SHOW + "\n\ndef test_reason(drl_config):\n    print('REASON=' + drl_config.reference_reason)\n")
    pytester.runpytest("-s").stdout.fnmatch_lines(["*REFERENCE=openvino BACKENDS=onnxruntime RULE=argmax == 1*",
                                                   f"*REASON=drl_reference in *; its torch_factory {factory!r} is not "
                                                   f"used ({problem}): the reference needs no Torch*"])


UNUSABLE = "def apply(params, images):\n    return images\n"


def test_a_callable_reference_with_an_unusable_signature_is_a_usage_error_at_start(pytester):
    _model(pytester, onnx_only=True)
    pytester.makepyfile(jax_like=UNUSABLE)
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_reference = jax_like:apply\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the callable reference jax_like:apply(params, images) cannot be called with the "
                                 "model's inputs images; accepted: f(inputs) with one argument*or f(images) with a "
                                 "parameter named like each input*functools.partial(model.apply, params)*"])
