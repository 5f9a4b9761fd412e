"""Every command checks the packages it needs before any work (issue 21: bench stopped after 35 s)."""

from __future__ import annotations

import importlib.util

import pytest

from panda_env.cli import main


@pytest.fixture
def without(monkeypatch):
    def hide(*modules):
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in modules else real(name, *a))

    return hide


@pytest.mark.parametrize(("argv", "module", "extra"), [
    (["bench"], "onnxruntime", "onnxruntime"),
    (["bench-backends"], "openvino", "openvino"),
    (["train", "--backend", "onnxruntime"], "onnxruntime", "onnxruntime"),
    (["compare", "--backends", "torch,openvino"], "openvino", "openvino"),
    (["compare", "--backends", "torch,openvino-int8"], "openvino", "openvino"),
    (["compare", "--executor", "ray"], "ray", "ray"),
    (["quantize", "--data", "nowhere"], "nncf", "int8"),
])
def test_a_missing_package_is_one_line_before_any_work(argv, module, extra, without, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    without(module)
    import panda_env.bench.step_profile as step_profile
    import panda_env.training.sac as sac

    def no_work(*args, **kwargs):
        raise AssertionError("the command started its work")

    monkeypatch.setattr(step_profile, "profile_steps", no_work)
    monkeypatch.setattr(sac, "train", no_work)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"{argv[0]} needs {module}, which is not installed: pip install" in err[0]
    assert f"(the pytest-drlreward[{extra}] extra; or pip install \".[{extra}]\" in a clone" in err[0]
    assert not list(tmp_path.iterdir())  # nothing written (bench's runs/bench.json, train's runs/sac)


def test_the_oracle_needs_no_engine(without, capsys):
    without("torch", "onnxruntime", "openvino")
    from panda_env.cli import build_parser
    from panda_env.commands.needs import missing

    assert missing(build_parser().parse_args(["train", "--backend", "oracle"])) is None
    assert missing(build_parser().parse_args(["train"])).startswith("train needs openvino")
