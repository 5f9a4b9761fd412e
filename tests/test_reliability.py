"""Nothing lost, nothing silently accepted: runs, model directories, resources and bad input.

Each test here fails without the fix it names (see the module sections); SIGKILL and SIGINT are sent
to real subprocesses.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pybullet
import pytest

from panda_env.cli import main
from panda_env.envs.hover import PandaHoverEnv
from panda_env.reward import load_backend
from panda_env.training import sac
from panda_env.training.capture import capture, save_capture
from panda_env.training.run_dir import LOCK_FILE
from pytest_drlreward.atomic import atomic_directory, atomic_file
from pytest_drlreward.classifier import METADATA_FILE, ModelDirError, open_model_dir

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
RUN = ["agent.zip", "learning_curve.png", "report.json", "time_split.png"]  # a run without evaluation


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory) -> Path:
    """A finished run directory (oracle reward, a few steps)."""
    out = tmp_path_factory.mktemp("runs") / "run"
    sac.train("oracle", steps=60, out_dir=out, eval_episodes=0)
    return out


@pytest.fixture
def no_learning(monkeypatch):
    """Fails the test if training starts: a check must refuse before the long work."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started although the run should have been refused first")

    monkeypatch.setattr(sac, "_learn", refuse)


@pytest.fixture
def unwritable(monkeypatch):
    """Make probe files fail with EROFS, as on a read-only directory (chmod does not stop root)."""
    real = tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and "readonly" in str(dir):
            raise OSError(30, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)


# --------------------------------------------------------------------------- runs: never lost, never overwritten


def test_train_refuses_an_earlier_run_unless_overwrite(earlier_run, capsys, no_learning):
    before = _digest(earlier_run / "agent.zip")
    assert main(["train", "--backend", "oracle", "--steps", "10", "--out", str(earlier_run)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (agent.zip, report.json, learning_curve.png, time_split.png)" in err
    assert "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert _digest(earlier_run / "agent.zip") == before


def test_overwrite_replaces_an_earlier_run(tmp_path):
    sac.train("oracle", steps=40, out_dir=tmp_path, eval_episodes=0)
    first = _digest(tmp_path / "agent.zip")
    sac.train("oracle", steps=40, seed=1, out_dir=tmp_path, eval_episodes=0, overwrite=True)
    assert _digest(tmp_path / "agent.zip") != first
    assert sorted(p.name for p in tmp_path.iterdir()) == RUN  # no lock, no temporary


@pytest.mark.parametrize("args", [["--out", "afile/sub"], ["--out", "readonly/run"]], ids=["under-a-file", "read-only"])
def test_output_problems_are_refused_before_training(tmp_path, monkeypatch, capsys, no_learning, unwritable, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    (tmp_path / "readonly").mkdir()
    assert main(["train", "--backend", "oracle", "--steps", "10", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("panda_env train: error: cannot ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "readonly" / "run").exists()


def test_bad_eval_episodes_is_refused_before_training(tmp_path, no_learning):
    with pytest.raises(ValueError, match="eval_episodes must be an integer >= 0, got -1"):
        sac.train("oracle", steps=10, out_dir=tmp_path / "run", eval_episodes=-1)
    with pytest.raises(SystemExit):
        main(["train", "--eval-episodes", "-1"])
    assert not (tmp_path / "run").exists()


def test_the_agent_is_saved_before_the_evaluation(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sac, "evaluate_policy_success", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sac.train("oracle", steps=40, out_dir=tmp_path, eval_episodes=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.zip", "learning_curve.png", "time_split.png"]
    # the agent and its pictures are kept; no report (written after the evaluation), no lock
    from panda_env.training.evaluate import load_agent

    load_agent(tmp_path / "agent.zip")


def test_a_second_run_into_a_locked_directory_is_refused_and_a_stale_lock_is_taken_over(tmp_path, no_learning,
                                                                                         monkeypatch):
    import fcntl

    holder = os.open(tmp_path / LOCK_FILE, os.O_CREAT | os.O_RDWR)  # a live writer holds the flock
    fcntl.flock(holder, fcntl.LOCK_EX)
    with pytest.raises(FileExistsError, match="another run is writing to .* holds the lock"):
        sac.train("oracle", steps=10, out_dir=tmp_path, eval_episodes=0)
    os.close(holder)  # the kernel releases it, as when the holder is killed
    (tmp_path / LOCK_FILE).write_text("1")  # issue 20: a pid that is alive again after a restart is no lock
    monkeypatch.undo()
    sac.train("oracle", steps=10, out_dir=tmp_path, eval_episodes=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == RUN


def test_sigint_during_training_keeps_the_agent_trained_so_far(tmp_path):
    """Ctrl-C during train saves a complete, loadable agent and a report marked interrupted (issue 21)."""
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "panda_env", "train", "--backend", "oracle", "--steps",
                                "2000", "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().split() == ["step", "episodes", "mean", "return", "true-goal", "success"]
    assert process.stdout.readline().split()[0] == "400"  # the first row: well into training, 1600 steps to go
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True and 400 <= report["steps"] < 2000
    assert report["evaluation"] == {}
    assert f"panda_env train: interrupted after {report['steps']} steps (no evaluation): kept the agent" in err
    from panda_env.training.evaluate import load_agent

    assert load_agent(out / "agent.zip").num_timesteps == report["steps"]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no lock, no temporaries


def test_atomic_writes_survive_sigkill_and_the_next_write_removes_the_leftover(tmp_path):
    """A writer killed mid-write leaves the old file whole and a temporary, which the next write removes."""
    target = tmp_path / "agent.zip"
    target.write_bytes(b"old run")
    writer = (
        "import sys, time\n"
        "from pytest_drlreward.atomic import atomic_file\n"
        f"with atomic_file({str(target)!r}) as tmp:\n"
        "    tmp.write_bytes(b'half')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    process.kill()
    process.wait()
    assert target.read_bytes() == b"old run"
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".agent.zip.tmp-")]
    assert len(leftovers) == 1
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"new run")
    assert target.read_bytes() == b"new run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.zip"]


def test_stale_temporary_directories_are_removed_and_live_ones_kept(tmp_path):
    stale = tmp_path / f".model.tmp-{_dead_pid()}-abc"
    live = tmp_path / f".model.tmp-{os.getpid()}-xyz"
    stale.mkdir()
    live.mkdir()
    with atomic_directory(tmp_path / "model") as tmp:
        (tmp / "file").write_text("x")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "model" / "file").read_text() == "x"


def test_atomic_files_get_ordinary_permissions(tmp_path):
    with atomic_file(tmp_path / "report.json") as tmp:
        tmp.write_text("{}")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o666 & ~mask


# --------------------------------------------------------------------------- model directories: only what is verified


def _edit_metadata(model: Path, edit) -> None:
    metadata = json.loads((model / METADATA_FILE).read_text())
    metadata = edit(metadata)
    (model / METADATA_FILE).write_text(json.dumps(metadata))


def test_openvino_never_compiles_an_unlisted_file(model_copy):
    backend = load_backend("openvino", model_copy)
    assert backend.source == model_copy / "classifier.onnx"
    images = np.random.default_rng(0).integers(0, 256, (4, *backend.image_shape), dtype=np.uint8)
    np.testing.assert_allclose(backend.logits(images), load_backend("torch", model_copy).logits(images), atol=1e-4)
    (model_copy / "classifier.xml").write_text("<net>not the verified classifier</net>")
    with pytest.raises(ModelDirError, match=r"not listed .*classifier\.xml"):  # issue 20: refused outright
        load_backend("openvino", model_copy)


def _format_1(metadata: dict, goal_index: int = 1) -> dict:
    """The shipped (format 2) metadata written as format 1."""
    return {"format_version": 1, "input": metadata["inputs"][0], "classes": metadata["classes"], "goal_index": goal_index,
            "torch_factory": metadata["torch_factory"], "files": metadata["files"]}


METADATA_FAULTS = {
    "no-files": (lambda m: {k: v for k, v in m.items() if k != "files"}, "lacks \\['files'\\]"),
    "files-without-onnx": (lambda m: {**m, "files": {"classifier.pt": m["files"]["classifier.pt"]}},
                           "does not list \\['classifier.onnx'\\]"),
    "goal-index-5": (lambda m: {**m, "decision": {"kind": "argmax", "goal_index": 5}},
                     "decision.goal_index 5 is not a column of the output"),
    "goal-index-bool": (lambda m: {**m, "decision": {"kind": "argmax", "goal_index": True}},
                        "decision.goal_index True is not a column"),
    "a-list": (lambda m: [m], "must hold a JSON object, got a list"),
    "no-inputs": (lambda m: {k: v for k, v in m.items() if k != "inputs"}, "lacks \\['inputs'\\]"),
    "no-decision": (lambda m: {k: v for k, v in m.items() if k != "decision"}, "lacks \\['decision'\\]"),
    "bad-torch-factory": (lambda m: {**m, "torch_factory": "no_colon"}, "torch_factory must be 'package.module:function'"),
    "bad-shape": (lambda m: {**m, "inputs": [{**m["inputs"][0], "shape": [None, 48, 0, 3]}]}, "inputs\\[0\\].shape must be"),
    "format-1-goal-index-5": (lambda m: _format_1(m, goal_index=5), "decision.goal_index 5 is not a column"),
    "format-1-no-torch-factory": (lambda m: {k: v for k, v in _format_1(m).items() if k != "torch_factory"},
                                  "lacks \\['torch_factory'\\]"),
    "escaping-file": (lambda m: {**m, "files": {**m["files"], "../x": "0"}}, "must be relative"),
}


@pytest.mark.parametrize("fault", sorted(METADATA_FAULTS))
def test_bad_metadata_is_a_model_dir_error_naming_the_problem(model_copy, fault, capsys):
    edit, message = METADATA_FAULTS[fault]
    _edit_metadata(model_copy, edit)
    with pytest.raises(ModelDirError, match=message):
        open_model_dir(model_copy)
    assert main(["evaluate-classifier", "--data", str(model_copy), "--model", str(model_copy)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- resources


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


# --------------------------------------------------------------------------- bad input to the env


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"goal_radius": float("inf")}, "goal_radius must be a number in"),
    ({"goal_radius": 0.0}, "goal_radius must be a number in"),
    ({"object_position": (0.9, 0.0, 0.05)}, "object_position must be"),
    ({"object_position": (0.6, 0.0)}, "object_position must be"),
    ({"image_size": 48.0}, "image_size must be a positive integer"),
    ({"image_size": 100_000}, "image_size must be a positive integer up to"),
    ({"image_size": 64, "reward_backend": "onnxruntime"}, "takes images of shape \\(48, 48, 3\\)"),
    ({"max_episode_steps": 2.5}, "max_episode_steps must be a positive integer"),
])
def test_bad_env_arguments_fail_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PandaHoverEnv(**kwargs)


@pytest.mark.parametrize("action", [["0.05", "0"], "ab", [0.05 + 1j, 0], [10**400, 0], [True, False]],
                         ids=["numeric-strings", "string", "complex", "overflow", "bools"])
def test_actions_that_are_not_real_numbers_are_refused(action):
    env = PandaHoverEnv()
    try:
        env.reset(seed=0)
        with pytest.raises(ValueError, match="action must be an array of 2 real numbers"):
            env.step(action)
    finally:
        env.close()


def test_stepping_before_reset_is_an_error_not_a_reward():
    env = PandaHoverEnv()
    try:
        with pytest.raises(RuntimeError, match="call reset\\(\\) before step\\(\\)"):
            env.step([0.0, 0.0])
    finally:
        env.close()


# --------------------------------------------------------------------------- bad input to the CLI


@pytest.fixture(scope="module")
def small_capture_dir(tmp_path_factory) -> Path:
    return save_capture(capture(8, seed=5), tmp_path_factory.mktemp("cap") / "capture")


def _broken_capture(source: Path, target: Path, fault: str) -> Path:
    import shutil

    shutil.copytree(source, target)
    if fault == "empty-images":
        np.save(target / "images.npy", np.zeros((0, 48, 48, 3), np.uint8))
    elif fault == "truncated-images":
        data = (target / "images.npy").read_bytes()
        (target / "images.npy").write_bytes(data[: len(data) // 2])
    elif fault == "labels-without-header":
        lines = (target / "labels.csv").read_text().splitlines()
        (target / "labels.csv").write_text("\n".join(lines[1:]) + "\n")
    elif fault == "label-7":
        lines = (target / "labels.csv").read_text().splitlines()
        cells = lines[1].split(",")
        cells[1] = "7"
        lines[1] = ",".join(cells)
        (target / "labels.csv").write_text("\n".join(lines) + "\n")
    elif fault == "bad-manifest":
        (target / "manifest.json").write_text("{not json")
    elif fault == "single-class":
        lines = (target / "labels.csv").read_text().splitlines()
        rows = [line.split(",") for line in lines[1:]]
        (target / "labels.csv").write_text("\n".join([lines[0]] + [",".join([r[0], "0", *r[2:]]) for r in rows]) + "\n")
    return target


@pytest.mark.parametrize(("fault", "named"), [
    ("empty-images", "images.npy must hold uint8 images (N, H, W, 3) with N >= 1"),
    ("truncated-images", "images.npy cannot be read"),
    ("labels-without-header", "labels.csv must start with the header"),
    ("label-7", "labels.csv: labels must be 0 (not goal) or 1 (goal); row 0 has 7"),
    ("bad-manifest", "manifest.json is not valid JSON"),
    ("single-class", "a classifier needs at least 2 of each class"),
])
def test_train_classifier_refuses_bad_captures_in_one_line(small_capture_dir, tmp_path, capsys, fault, named):
    data = _broken_capture(small_capture_dir, tmp_path / "cap", fault)
    assert main(["train-classifier", "--data", str(data), "--out", str(tmp_path / "model"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("args", [["bench", "--image-sizes", "0"], ["bench", "--image-sizes", ","],
                                  ["bench-env", "--steps", "0"]])
def test_cli_refuses_non_positive_sizes_and_counts(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2


@pytest.mark.parametrize(("args", "work"), [
    (["evaluate", "--agent", "AGENT", "--gif", "readonly/episode.gif"], "panda_env.training.evaluate.evaluate_policy_success"),
    (["capture", "--out", "readonly/capture", "--n", "4"], "panda_env.training.capture.capture"),
    (["bench", "--image-sizes", "48", "--json", "readonly/bench.json"], "panda_env.bench.step_profile.profile_steps"),
    (["compare", "--json", "readonly/compare.json", "--steps", "10"], "panda_env.bench.compare.compare_backends"),
], ids=["evaluate-gif", "capture", "bench-json", "compare-json"])
def test_unwritable_outputs_are_refused_before_the_work(tmp_path, monkeypatch, capsys, unwritable, earlier_run,
                                                         args, work):
    def refuse(*a, **k):
        raise AssertionError("the work started although its output cannot be written")

    monkeypatch.setattr(work, refuse)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "readonly").mkdir()
    args = [str(earlier_run / "agent.zip") if a == "AGENT" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in err and len(err.strip().splitlines()) == 1
    assert list((tmp_path / "readonly").iterdir()) == []


# --------------------------------------------------------------------------- the plugin's output files


@pytest.mark.parametrize(("where", "message"), [("missing/timing.json", "directory .*missing does not exist"),
                                                ("afile/timing.json", "directory .*afile does not exist"),
                                                ("adir", "is a directory"),
                                                ("readonly/timing.json", "cannot write to .*Read-only file system")])
def test_an_unwritable_timing_json_is_a_usage_error_at_start(pytester, unwritable, where, message):
    import re

    (pytester.path / "afile").write_text("")
    (pytester.path / "adir").mkdir()
    (pytester.path / "readonly").mkdir()
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest(f"--drl-timing-json={where}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert re.search(message, result.stderr.str()), result.stderr.str()
    assert not (pytester.path / "missing").exists()  # not created silently


def test_the_timing_json_gets_ordinary_permissions(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    assert pytester.runpytest("--drl-timing-json=timing.json").ret == pytest.ExitCode.OK
    mask = os.umask(0)
    os.umask(mask)
    assert (pytester.path / "timing.json").stat().st_mode & 0o777 == 0o666 & ~mask
