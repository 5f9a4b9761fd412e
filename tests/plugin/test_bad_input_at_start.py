"""Issue 20 cases 10-12: bad input is one error at start naming the value, with bounds; a full disk is one line."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from repo_paths import DOWNSTREAM

from pytest_drlreward.classifier import METADATA_FILE, ModelDirError, open_model_dir

pytest_plugins = ["pytester"]
TINY = DOWNSTREAM / "models" / "tiny"


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TINY, tmp_path / "model"))


def _edit(model: Path, **changes) -> None:
    metadata = json.loads((model / METADATA_FILE).read_text())
    metadata.update(changes)
    (model / METADATA_FILE).write_text(json.dumps(metadata))


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_metadata_is_a_model_dir_error(tmp_path, depth):
    model = _copy(tmp_path)
    text = (model / METADATA_FILE).read_text()
    (model / METADATA_FILE).write_text(text.rstrip()[:-1] + ', "info2": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(ModelDirError, match="nests deeper than 32 levels"):
        open_model_dir(model)


def test_deeply_nested_metadata_is_a_usage_error_not_an_internal_error(pytester, tmp_path):
    model = _copy(tmp_path)
    (model / METADATA_FILE).write_text("[" * 100_000 + "]" * 100_000)
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest(f"--drl-model={model}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nests deeper than*"])


def test_a_huge_input_shape_is_refused(tmp_path):
    model = _copy(tmp_path)
    _edit(model, input={"name": "images", "shape": [None, 100000, 100000, 3], "dtype": "uint8", "layout": "NHWC"})
    with pytest.raises(ModelDirError, match=r"input shape \[None, 100000, 100000, 3\] is too large"):
        open_model_dir(model)


def test_an_input_shape_the_onnx_graph_does_not_have_is_refused_at_start(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    monkeypatch.syspath_prepend(str(DOWNSTREAM))
    from pytest_drlreward.plugin.preflight import check_model_dir

    model = _copy(tmp_path)
    _edit(model, input={"name": "images", "shape": [None, 32, 32, 3], "dtype": "uint8", "layout": "NHWC"})
    expected = r"inputs\[0\]\.shape \[None, 32, 32, 3\] of input 'images' is not the ONNX graph's input shape"
    with pytest.raises(ModelDirError, match=expected):
        check_model_dir(model)


@pytest.mark.parametrize(("ini", "named"), [
    ("drl_fidelity_steps = 1000000000", "1000000000 steps is more than 1000000"),
    ("drl_fidelity_steps = 900000\ndrl_model = big", "GiB of images"),
])
def test_fidelity_steps_are_bounded(pytester, ini, named):
    if "big" in ini:
        model = Path(shutil.copytree(TINY, pytester.path / "big"))
        (model / "labelled_images.npz").unlink()
        metadata = json.loads((model / METADATA_FILE).read_text())
        metadata["input"]["shape"] = [None, 16, 16, 3]
        (model / METADATA_FILE).write_text(json.dumps(metadata))
        shutil.copy(DOWNSTREAM / "tiny_model.py", pytester.path)
        ini = "pythonpath = .\n" + ini
        import pytest_drlreward.classifier.bounds as bounds

        pytester_bytes = 900000 * 16 * 16 * 3
        assert pytester_bytes < bounds.MAX_ROLLOUT_BYTES  # the tiny images fit: expect no error for them
        named = None
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    if named is None:
        assert result.ret == 0, result.stderr.str()
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*drl_fidelity_steps*{named}*"])


def test_a_rollout_keeping_too_many_image_bytes_is_refused():
    from pytest_drlreward.classifier.bounds import check_rollout_size

    check_rollout_size(1500, (224, 224, 3), "drl_fidelity_steps")
    with pytest.raises(ValueError, match=r"100000 steps of \(224, 224, 3\) images would keep 14.0 GiB"):
        check_rollout_size(100_000, (224, 224, 3), "drl_fidelity_steps")


def test_labelled_images_of_another_shape_than_the_classifier_are_a_usage_error(pytester):
    shutil.copytree(TINY, pytester.path / "model")
    shutil.copy(DOWNSTREAM / "tiny_model.py", pytester.path)
    np.savez(pytester.path / "labelled.npz", images=np.zeros((2, 8, 8, 3), np.uint8), labels=np.array([0, 1]))
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = model\ndrl_labelled_images = labelled.npz\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*images are (8, 8, 3) but the classifier takes (16, 16, 3)*"])


@pytest.mark.parametrize("command", ["demo", "evaluate", "train", "compare"])
def test_a_negative_seed_is_refused_naming_the_option(command, capsys):
    pytest.importorskip("pybullet")
    from panda_env.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([command, "--seed", "-1", *(["--agent", "x.zip"] if command == "evaluate" else [])])
    assert exit_info.value.code == 2
    assert "argument --seed: must be an integer in [0, 2**32 - 1]" in capsys.readouterr().err


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_during_export_is_one_line_and_keeps_the_old_directory(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import sys

    monkeypatch.syspath_prepend(str(DOWNSTREAM))
    from tiny_model import TinyCNN

    from pytest_drlreward import export_classifier
    from pytest_drlreward.util.atomic import DiskFullError

    images = np.zeros((2, 16, 16, 3), np.uint8)
    out = tmp_path / "classifier"
    export_classifier(TinyCNN(), images, out, torch_factory="tiny_model:build")
    before = json.loads((out / METADATA_FILE).read_text())["files"]
    monkeypatch.setattr(torch, "save", _disk_full)
    with pytest.raises(DiskFullError) as error:
        export_classifier(TinyCNN(), images, out, torch_factory="tiny_model:build", overwrite=True)
    message = str(error.value)
    assert "\n" not in message and str(out) in message and "still holds the previous copy" in message
    assert json.loads((out / METADATA_FILE).read_text())["files"] == before
    open_model_dir(out)
    assert [p.name for p in tmp_path.iterdir()] == ["classifier"]
    assert "tiny_model" in sys.modules


def test_an_iostream_error_of_the_onnx_writer_is_an_oserror_naming_the_file(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(DOWNSTREAM))
    from tiny_model import TinyCNN

    import pytest_drlreward.classifier.export as export

    def failing(*args):  # _export_onnx(model, examples, single, path)
        raise RuntimeError("basic_ios::clear: iostream error")

    monkeypatch.setattr(export, "_export_onnx", failing)
    with pytest.raises(OSError, match=r"classifier.onnx: basic_ios::clear"):
        export.export_classifier(TinyCNN(), np.zeros((2, 16, 16, 3), np.uint8), tmp_path / "c", torch_factory="tiny_model:build")
    assert not (tmp_path / "c").exists()


def test_a_full_disk_on_timing_save_is_one_line_and_the_summary_is_kept(pytester, monkeypatch):
    import pytest_drlreward.plugin as plugin

    monkeypatch.setattr(plugin, "write_text_atomic", _disk_full)  # undone after this test, unlike a conftest's patch
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--drl-timing-save=baseline.json")
    assert result.ret == 1
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*drlreward: cannot write *baseline.json*No space left on device*", "*1 passed*"])
