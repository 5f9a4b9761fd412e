"""Failures that can be replayed and read (issue 27, items 4 and 5), on the downstream project.

A broken twin (the ONNX graph's largest weight x1.5, re-hashed: only parity can catch it) fails parity once
per backend in full and in a few lines; its other failures are one line naming the test that reported the
cause. Every failure prints one command; run as printed (in a subprocess), it shows the same worst element,
the same flip, the same false goal.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
from model_edits import scale_largest_onnx_weight
from test_downstream import SUITE_ARGS, _export_variant, _run, project  # noqa: F401  (project: the fixture)

BACKENDS = ("onnxruntime", "openvino")
REPLAY = re.compile(r"replay(?: the first)?: (python -m pytest_drlreward\.replay .*?)\)?$", re.MULTILINE)


def before_short_summary(out: str) -> str:
    """The run's output up to pytest's short test summary, which repeats whole messages under CI=true."""
    return out.split("short test summary info", 1)[0]


@pytest.fixture
def broken(project):  # noqa: F811  (the fixture imported above)
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    scale_largest_onnx_weight(project / "models" / "tiny", 1.5)
    return project


def _suite(root: Path, *args: str):
    """The suite in the project at ``root``, its temporary directory inside it (pytest keeps only the last three basetemps,
    and other pytest runs on this machine would remove this one's meanwhile)."""
    return _run(["-m", "pytest", *SUITE_ARGS, f"--basetemp={root / 'basetemp'}", *args], root)


def _replay(command: str, cwd: Path) -> str:
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "pytest_drlreward.replay"], command
    result = _run(words[1:], cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _failures(out: str) -> dict[str, list[str]]:
    """The FAILURES section's lines by test name."""
    section = out.split("= FAILURES =", 1)[1].split("\n---", 1)[0].split("\n===", 1)[0]
    reports: dict[str, list[str]] = {}
    name = None
    for line in section.splitlines()[1:]:
        match = re.match(r"^_+ (\S+) _+$", line)
        if match:
            name = match.group(1)
            reports[name] = []
        elif name is not None:
            reports[name].append(line)
    return reports


def test_a_broken_twin_fails_once_per_backend_in_a_few_lines_and_each_command_replays_the_worst_element(broken):
    result = _suite(broken, "-m", "parity")
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED and "6 failed" in out.splitlines()[-1], out
    reports = _failures(out)
    assert len(reports) == 6, out
    for backend in BACKENDS:
        mine = {name: lines for name, lines in reports.items() if name.endswith(f"[{backend}]")}
        full = [name for name, lines in mine.items() if not any("same cause as" in line for line in lines)]
        assert len(full) == 1, out  # the cause, reported once: the first failing test of the pair
        assert full == [next(iter(mine))], out  # in run order: random inputs, labelled, env inputs
        for name, lines in mine.items():
            if name not in full:  # the others: one line naming that test, and the test's line
                assert len(lines) == 2 and f"same cause as {full[0]}, reported there; replay: python -m" in lines[0], out
        assert sum(len(lines) + 1 for lines in mine.values()) <= 16, out  # 108 before issue 27 (15 now)
    for unwanted in ("reference_backend =", "Rollout(", "def test_", "array(", "Explanation", "checks/parity.py"):
        assert unwanted not in out, (unwanted, out)  # no fixture reprs, plugin source or Hypothesis's explanation
    # every failure printed one command; each, run as printed, shows the same worst element
    for lines in reports.values():
        text = "\n".join(lines)
        commands = REPLAY.findall(text)
        assert len(commands) == 1, text
        replayed = _replay(commands[0], broken)
        worst = [line for line in text.splitlines() if "worst element:" in line]
        if worst:  # the full report: compare the line itself
            assert worst[0].strip() in replayed, (worst, replayed)
        else:
            assert "worst element: image" in replayed or "reward flips" in replayed, replayed


def test_a_flip_on_env_images_replays_the_same_step(broken):
    result = _suite(broken, "-k", "env_images and openvino")
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out
    flips = re.findall(r"^    (step \d+ \(seed \d+, step \d+ of its episode\): torch says .*)$", out, re.MULTILINE)
    assert flips, out
    replayed = _replay(REPLAY.findall(out)[0], broken)
    assert replayed.splitlines()[2].strip() == flips[0], replayed  # the largest flip first, named by step and seed
    saved = Path(shlex.split(REPLAY.findall(out)[0])[3])
    seeds = json.loads(saved.with_suffix(".json").read_text())
    assert seeds["rollout"]["seed"] == 0 and any(row["where"] == flips[0].split(":")[0] for row in seeds["rows"]), seeds


def test_verbose_keeps_pytest_report_and_adds_the_replay_command(broken):
    result = _suite(broken, "-v", "-k", "labelled_images and onnxruntime and matches")
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "reference_backend = " in out and "drlreward replay" in out, out  # pytest's own report, and the command
    assert len(REPLAY.findall(before_short_summary(out))) == 1, out


def test_a_false_goal_replays_with_the_same_step_probability_and_truth(project, monkeypatch):  # noqa: F811
    _export_variant(project, monkeypatch, "wrong", 1.9)  # calls goal far into the blue: false goals
    result = _suite(project, "-k", "test_reference_reward_fidelity", "--drl-model=models/wrong",
                    "--drl-labelled-images=models/tiny/labelled_images.npz")
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out
    commands = REPLAY.findall(before_short_summary(out))
    assert len(commands) == 1, out
    saved = Path(shlex.split(commands[0])[3])
    first = json.loads((saved.parent / "false_goals.json").read_text())["cases"][0]
    replayed = _replay(commands[0], project)
    assert (f"false goal at {first['where']}: goal probability {first['goal_probability']:.3f}, truth False"
            in replayed), (first, replayed)


def test_the_replay_command_refuses_what_is_not_a_saved_case(tmp_path):
    import numpy as np

    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    result = _run(["-m", "pytest_drlreward.replay", str(tmp_path / "other.npz"), "--model", str(tmp_path),
                   "--backend", "onnxruntime"], tmp_path)
    assert result.returncode == 2 and "is not a saved failing input" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and sys.executable  # one line, no traceback


def test_one_report_per_pair_and_the_candidates_own_checks_point_to_it():
    """The dedupe rule on its own: keyed by (candidate, reference), so a golden-output failure of openvino is no
    cause for its labelled accuracy, and the reference's own failures are their own cause."""
    from types import SimpleNamespace

    from pytest_drlreward.checks import AccuracyError, ParityError
    from pytest_drlreward.plugin.failure_text import Causes, failure_lines

    def parity(candidate, reference):
        return ParityError("backends disagree: ...\n  worst element: image 3", SimpleNamespace(names=(reference, candidate)))

    def accuracy(backend):
        return AccuracyError(f"backend {backend!r} misclassified 2/48", SimpleNamespace(backend=backend))

    causes = Causes()
    assert causes.owner(parity("openvino", "golden openvino"), "test_golden[openvino]", "torch") is None
    assert causes.owner(accuracy("openvino"), "test_labelled[openvino]", "torch") is None  # golden is another pair
    assert causes.owner(parity("openvino", "torch"), "test_random[openvino]", "torch") is None  # the first: in full
    assert causes.owner(parity("openvino", "torch"), "test_random[openvino]", "torch") is None  # Hypothesis reruns it
    assert causes.owner(parity("openvino", "torch"), "test_env[openvino]", "torch") == "test_random[openvino]"
    assert causes.owner(accuracy("openvino"), "test_labelled[openvino]", "torch") == "test_random[openvino]"
    assert causes.owner(accuracy("torch"), "test_reference_labelled", "torch") is None
    assert causes.owner(parity("onnxruntime", "torch"), "test_env[onnxruntime]", "torch") is None  # another pair
    line = failure_lines(parity("openvino", "torch"), "replay: python -m x", "a/b.py::test_random[openvino]")
    assert line == ["ParityError: backends disagree: ... (same cause as test_random[openvino], reported there; "
                    "replay: python -m x)"]
    error = parity("openvino", "torch")
    error.add_note("Failing test case: check(\n    batch=<1 images 16x16x3 uint8, sha256 4a58>,\n)")
    error.add_note("Explanation:\n    These lines were always and only run by failing test cases:\n        parity.py:12")
    assert failure_lines(error, "replay: cmd", None) == [
        "ParityError: backends disagree: ...\n  worst element: image 3", "replay: cmd",
        "Failing test case: check(batch=<1 images 16x16x3 uint8, sha256 4a58>)"]
