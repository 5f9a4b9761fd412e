"""A parity failure on random images reads well (issue 21): no Hypothesis array dump, and the summary line
counts the same images as the error; (issue 27) the shrunk example is one line, with no Hypothesis explanation
(lines of the plugin's source) and one replay command."""

from __future__ import annotations

import re

import pytest
from test_downstream import SUITE_ARGS, _run, project  # noqa: F401  (project: the fixture)


def test_a_random_image_parity_failure_shows_one_line_per_example_and_a_matching_summary(project):  # noqa: F811
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    result = _run(["-m", "pytest", *SUITE_ARGS, "-k", "random_images", "--drl-backends=onnxruntime",
                   "-o", "drl_parity_tolerances=onnxruntime = 1e-12, 0"], project)  # tighter than float32 rounding
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "array(" not in out, out  # the drawn batch is shown as one line, not as its pixels
    shown = re.search(r"(?:Falsifying example|Failing test case): check\([\sE]*batch=<(\d+) images 16x16x3 uint8, sha256 [0-9a-f]+>", out)
    assert shown, out
    error = re.search(r"backends disagree: candidate 'onnxruntime' vs reference 'torch' on (\d+) images", out)
    summary = re.search(r"FAILED parity: onnxruntime vs torch: (\d+) images.*\[random images\]", out)
    assert error and summary, out
    assert shown.group(1) == error.group(1) == summary.group(1), out  # the same example, counted once
    assert "Explanation" not in out and "pytest_drlreward/checks/" not in out, out
    reported = out.split("short test summary info", 1)[0]  # CI=true makes pytest's summary repeat whole messages
    assert reported.count("replay: python -m pytest_drlreward.replay ") == 1, out
