"""docs/reward-models.md's four examples, run as written (each block saved under its file name and run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from repo_paths import ROOT

DOC = ROOT / "docs" / "reward-models.md"
BLOCK = re.compile(r"```python\n# (\w+\.py)\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    return BLOCK.findall(DOC.read_text())


def test_the_doc_has_its_four_examples():
    assert [name for name, _ in _examples()] == ["my_rewards.py", "two_cameras.py", "jax_reward.py", "colour_score.py"]


@pytest.mark.parametrize("name, code", _examples(), ids=[name for name, _ in _examples()])
def test_example_runs(tmp_path, name, code):
    pytest.importorskip("torch")
    (tmp_path / name).write_text(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    result = subprocess.run([sys.executable, name], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_jax_style_example_passes_the_suite_with_its_callable_reference(tmp_path):
    """The ini of example 3 with the callable as the reference: OpenVINO and ONNX Runtime against numpy."""
    code = dict(_examples())["jax_reward.py"]
    (tmp_path / "jax_reward.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    subprocess.run([sys.executable, "jax_reward.py"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300)
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = .\ndrl_model = jax_classifier\n"
                                         "drl_reference = jax_reward:forward\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "pytest_drlreward.suite", "-m", "parity",
                             "-p", "no:cacheprovider"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "reference jax_reward:forward" in result.stdout and "2 passed" in result.stdout


def test_the_argument_table_names_every_keyword_export_classifier_takes():
    """The table lists the signature's own parameters and the shared description keywords, and nothing else;
    the line on ``write_classifier_dir`` names every description keyword."""
    import dataclasses
    import inspect

    from pytest_drlreward.classifier.export import export_classifier
    from pytest_drlreward.classifier.writer import Description

    text = DOC.read_text()
    table = text[text.index("| argument | meaning |"):]
    table = table[:table.index("\n\n")]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    own = [name for name in inspect.signature(export_classifier).parameters if name != "description"]
    described = [field.name for field in dataclasses.fields(Description)]
    assert sorted(documented) == sorted(own + described)
    line = text[text.index("`write_classifier_dir(onnx_path, out_dir, *,"):].split("`")[1]
    assert re.findall(r"(\w+)(?=[,)])", line.split("*,")[1]) == described
