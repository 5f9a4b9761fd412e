"""Issue 28, the second probe as an attacker sending a directory and settings: each way in is a test here.

Nothing named by a directory or a setting runs unless it is a function or class of the user's project or of
``drl_trusted_modules`` (marker files stay absent), each refusal is one line at start naming the value and the
fix, and what is hashed is what the engines load (external data parsed as protobuf, no symlinks, ``int8/``
listed in ``metadata.json``, one open directory per read).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from repo_paths import DOWNSTREAM
from start_errors import usage_error_at_start

from pytest_drlreward.backends import load_backend
from pytest_drlreward.classifier import METADATA_FILE, ModelDirError, open_model_dir, sha256_of

pytest_plugins = ["pytester"]
TINY = DOWNSTREAM / "models" / "tiny"
FIX = "drl_trusted_modules"


def _copy(tmp_path: Path, name: str = "model") -> Path:
    model = Path(shutil.copytree(TINY, tmp_path / name))
    (model / "labelled_images.npz").unlink()
    return model


def _metadata(model: Path) -> dict:
    return json.loads((model / METADATA_FILE).read_text())


def _write_metadata(model: Path, metadata: dict) -> None:
    (model / METADATA_FILE).write_text(json.dumps(metadata, indent=2))


def _edit(model: Path, **changes) -> None:
    _write_metadata(model, {**_metadata(model), **changes})


def _list(model: Path, *names: str, digest: str | None = None) -> None:
    metadata = _metadata(model)
    for name in names:
        metadata["files"][name] = digest or sha256_of(model / name)
    _write_metadata(model, metadata)


def _onnx_only(tmp_path: Path, name: str = "model") -> Path:
    """A format-2 copy of the tiny classifier without a torch_factory (no torch code named at all)."""
    model = _copy(tmp_path, name)
    metadata = open_model_dir(model).metadata
    (model / "classifier.pt").unlink()
    _write_metadata(model, {**metadata, "torch_factory": None, "torch_factory_kwargs": {},
                            "files": {"classifier.onnx": metadata["files"]["classifier.onnx"]}})
    return model


# ---------------------------------------------------------------- installed packages are gadgets


GADGETS = [("setuptools._distutils.spawn:spawn", "cmd"), ("pip._internal.utils.subprocess:call_subprocess", "cmd")]


@pytest.mark.parametrize(("spec", "argument"), GADGETS)
def test_an_installed_package_as_torch_factory_runs_nothing(tmp_path, spec, argument):
    pytest.importorskip(spec.split(".")[0])
    model, marker = _copy(tmp_path), tmp_path / "gadget_ran"
    _edit(model, torch_factory=spec, torch_factory_kwargs={argument: ["touch", str(marker)]})
    with pytest.raises(ModelDirError, match=rf"{spec}.*neither your project's code nor in {FIX}.*add its module"):
        load_backend("torch", model)
    assert not marker.exists()


def test_an_installed_gadget_factory_is_one_usage_error_in_the_default_suite(pytester, tmp_path):
    model, marker = _copy(tmp_path), tmp_path / "gadget_ran"
    _edit(model, torch_factory=GADGETS[0][0], torch_factory_kwargs={"cmd": ["touch", str(marker)]})
    line = usage_error_at_start(pytester, f"drl_model = {model}", "--pyargs", "pytest_drlreward.suite",
                                 named=GADGETS[0][0])
    assert FIX in line
    assert not marker.exists()


def test_an_installed_model_package_loads_only_when_trusted_by_name(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    pytest.importorskip("onnxruntime")
    from torchvision.models.squeezenet import squeezenet1_1

    from pytest_drlreward import export_classifier

    torch.manual_seed(0)
    images = np.random.default_rng(0).random((2, 3, 48, 48), dtype=np.float32)
    spec = "torchvision.models.squeezenet:squeezenet1_1"
    directory = export_classifier(squeezenet1_1(num_classes=2), images, tmp_path / "squeeze", torch_factory=spec,
                                  torch_factory_kwargs={"num_classes": 2}, input_ranges=(0.0, 1.0))
    path = getattr(directory, "path", directory)
    with pytest.raises(ModelDirError, match=rf"{spec}.*{FIX}"):
        load_backend("torch", path)  # not by default
    backend = load_backend("torch", path, trusted_modules=("torchvision.models.*",))
    np.testing.assert_allclose(backend.logits(images), load_backend("onnxruntime", path).logits(images), atol=1e-4)


# ---------------------------------------------------------------- references and policies named by settings


@pytest.mark.parametrize(("reference", "named"), [
    ("builtins:eval", "standard library"), ("builtins:exec", "standard library"), ("os:system", "standard library"),
    ("subprocess:run", "standard library"), ("os:popen", "standard library"),
    ("setuptools._distutils.spawn:spawn", FIX), ("refs:CONSTANT", "defines no function or class 'CONSTANT'"),
    ("refs:build.__globals__", "no dunder attributes")])
def test_a_spawning_evaluating_or_non_callable_reference_is_one_usage_error_at_start(pytester, reference, named):
    (pytester.path / "refs.py").write_text("CONSTANT = 3\n\ndef build(images):\n    return images\n")
    line = usage_error_at_start(pytester, f"pythonpath = .\ndrl_reference = {reference}",
                                 named=f"drl_reference {reference!r}")
    assert named in line


@pytest.mark.parametrize("policy", ["os:system", "builtins:eval", "pols:build.__globals__", "pols:CONSTANT"])
def test_a_spawning_or_chained_policy_is_one_usage_error_at_start(pytester, policy):
    (pytester.path / "pols.py").write_text("CONSTANT = 3\n\ndef build(obs):\n    return 0\n")
    usage_error_at_start(pytester, f"pythonpath = .\ndrl_policy = {policy}", named=f"drl_policy {policy!r}")


def test_a_policy_from_an_installed_package_needs_its_module_trusted(pytester):
    usage_error_at_start(pytester, "drl_policy = setuptools._distutils.spawn:spawn", named=FIX)


def test_a_reference_module_inside_the_model_directory_is_refused_even_on_pythonpath(pytester, tmp_path):
    model, marker = _onnx_only(tmp_path), tmp_path / "reference_module_ran"
    (model / "refmod.py").write_text(f"open({str(marker)!r}, 'w').close()\n\ndef ref(images):\n    return images\n")
    _list(model, "refmod.py")
    line = usage_error_at_start(pytester, f"pythonpath = {model}\ndrl_model = {model}\ndrl_reference = refmod:ref",
                                 named="inside the classifier directory")
    assert "trust_code" in line
    assert not marker.exists()


def test_a_callable_reference_of_the_project_still_loads(tmp_path, monkeypatch):
    model = _onnx_only(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_reference.py").write_text("import numpy as np\n\ndef ref(images):\n"
                                             "    return np.zeros((len(images), 2), np.float32)\n")
    monkeypatch.syspath_prepend(str(project))
    from pytest_drlreward.backends import load_reference

    backend = load_reference("my_reference:ref", model)
    assert backend.logits(np.zeros((3, 16, 16, 3), np.uint8)).shape == (3, 2)
    with pytest.raises(ValueError, match=r"builtins:eval.*standard library"):
        load_reference("builtins:eval", model)


# ---------------------------------------------------------------- the model directory is data, never tests


def test_a_conftest_or_test_file_inside_the_model_directory_is_never_collected(pytester):
    model = _onnx_only(pytester.path, "shipped_model")
    markers = {name: pytester.path / f"{name}_ran" for name in ("conftest", "test_evil")}
    for name, marker in markers.items():
        (model / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').close()\n\ndef test_x():\n    pass\n")
        _list(model, f"{name}.py")
    pytester.makeini(f"[pytest]\ndrl_model = {model}\n")  # no testpaths: a plain `pytest` walks the project
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not [name for name, marker in markers.items() if marker.exists()]


# ---------------------------------------------------------------- what is hashed is what is loaded


def _external_onnx(model: Path, location: str) -> None:
    """Rewrite ``model``'s ONNX graph so its first initializer is read from ``location`` (offset 0), with the
    StringStringEntryProto key length written as the 2-byte varint ``88 00``: no ``0a 08 location`` in the file."""
    onnx = pytest.importorskip("onnx")

    def field(number: int, payload: bytes) -> bytes:
        size, out = len(payload), b""
        while True:
            out += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
            size >>= 7
            if not size:
                break
        return bytes([number << 3 | 2]) + out + payload

    proto = onnx.load(str(model / "classifier.onnx"))
    tensor = proto.graph.initializer[0]
    length = len(onnx.numpy_helper.to_array(tensor).tobytes())
    tensor.ClearField("raw_data")
    for name in ("float_data", "int32_data", "int64_data", "double_data"):
        tensor.ClearField(name)
    first = tensor.SerializeToString()
    del proto.graph.initializer[0]
    entries = (field(1, b"location")[:1] + b"\x88\x00" + b"location" + field(2, location.encode()),
               field(1, b"offset") + field(2, b"0"), field(1, b"length") + field(2, str(length).encode()))
    hostile = first + b"".join(field(13, entry) for entry in entries) + b"\x70\x01"  # data_location = EXTERNAL
    data = proto.SerializeToString() + field(7, field(5, hostile))  # merged into the graph's initializers
    assert b"\x0a\x08location" not in data and b"location" in data
    (model / "classifier.onnx").write_bytes(data)
    _list(model, "classifier.onnx")


def test_external_data_hidden_by_a_two_byte_varint_is_found_and_refused(tmp_path):
    model = _onnx_only(tmp_path)
    np.savez(model / "labelled_images.npz", images=np.zeros((64, 16, 16, 3), np.uint8), labels=np.zeros(64, bool))
    _external_onnx(model, "labelled_images.npz")  # an unlisted file the listing rule allows (numpy data)
    from pytest_drlreward.classifier.listing import external_data_locations

    assert external_data_locations(data=(model / "classifier.onnx").read_bytes()) == ["labelled_images.npz"]
    with pytest.raises(ModelDirError, match=r"external data from 'labelled_images.npz'.*does not list"):
        open_model_dir(model)


def test_int8_files_listed_only_in_int8_json_are_refused(tmp_path):
    model, marker = _copy(tmp_path), tmp_path / "int8_code_ran"
    (model / "int8").mkdir()
    (model / "int8" / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n\ndef build():\n    return None\n")
    (model / "int8" / "int8.json").write_text(json.dumps({"format_version": 1, "files": {"evil.py": "0000"}}))
    _edit(model, torch_factory="int8.evil:build")
    with pytest.raises(ModelDirError, match=r"not listed.*int8/evil\.py"):
        load_backend("torch", model, trust_code=True)
    assert not marker.exists()


def test_the_shipped_directory_lists_its_int8_files_and_a_copy_without_int8_still_opens(tmp_path):
    from repo_paths import SHIPPED_MODEL

    listed = _metadata(SHIPPED_MODEL)["files"]
    assert {"int8/int8.json", "int8/classifier_int8.xml", "int8/classifier_int8.bin"} <= set(listed)
    copy = Path(shutil.copytree(SHIPPED_MODEL, tmp_path / "shipped", ignore=shutil.ignore_patterns("int8")))
    assert open_model_dir(copy).path == copy


@pytest.mark.parametrize("case", ["onnx_elsewhere", "notes_to_passwd", "symlinked_subdir"])
def test_a_symlink_anywhere_in_the_directory_is_refused(tmp_path, case):
    model = _copy(tmp_path)
    if case == "onnx_elsewhere":
        elsewhere = tmp_path / "elsewhere.onnx"
        shutil.move(model / "classifier.onnx", elsewhere)
        (model / "classifier.onnx").symlink_to(elsewhere)  # same bytes, same hash: only the link is wrong
        name = "classifier.onnx"
    elif case == "notes_to_passwd":
        (model / "notes.txt").symlink_to("/etc/passwd")
        _list(model, "notes.txt")
        name = "notes.txt"
    else:
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / "w.bin").write_bytes(b"x")
        (model / "extra").symlink_to(tmp_path / "outside")
        name = "extra"
    with pytest.raises(ModelDirError, match=rf"{name} .*symlink"):
        open_model_dir(model)


def test_the_engines_load_the_bytes_that_were_hashed_not_the_path(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    model = _onnx_only(tmp_path)
    directory = open_model_dir(model)
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    expected = load_backend("onnxruntime", directory).logits(images)
    (model / "classifier.onnx").write_bytes(b"swapped after the check")  # an engine opening the path would fail
    for name in ("onnxruntime", "openvino"):
        np.testing.assert_allclose(load_backend(name, directory).logits(images), expected, atol=1e-5)


# ---------------------------------------------------------------- one writer, one reader


@pytest.mark.parametrize("seconds", [pytest.param(6.0, id="6s"), pytest.param(20.0, id="20s", marks=pytest.mark.slow)])
def test_a_reader_racing_a_writer_of_write_classifier_dir_never_mixes_two_copies(tmp_path, seconds, record_property):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import multiprocessing

    import atomic_workers  # beside tests/conftest.py, on sys.path (pythonpath)

    paths = atomic_workers.two_constant_classifiers(str(tmp_path))
    target = str(tmp_path / "classifier")
    atomic_workers.write_copy(target, paths, "A")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["atomic_workers", "onnxruntime", "pytest_drlreward.classifier.writer"])
    results = context.Queue()
    processes = [context.Process(target=atomic_workers.classifier_writer_loop, args=(target, paths, seconds, results)),
                 context.Process(target=atomic_workers.classifier_reader_loop, args=(target, seconds, results))]
    for process in processes:
        process.start()
    found = {kind: counts for kind, _, counts in (results.get(timeout=seconds + 180) for _ in processes)}
    for process in processes:
        process.join()
    writer, reader = found["writer"], found["reader"]
    record_property("summary", f"write_classifier_dir race ({seconds:g} s): {writer['written']} copies written, "
                               f"{reader['read']} reads, {reader['mixed']} mixed, {reader['failed']} failed")
    assert writer["written"] > 2 and writer["raw"] == 0, writer
    assert reader["read"] > 0 and reader["mixed"] == 0 and reader["failed"] == 0, reader


@pytest.mark.parametrize("env", ["os:system", "subprocess:getoutput", "setuptools._distutils.spawn:spawn"])
def test_an_env_factory_outside_the_project_is_one_usage_error_at_start(pytester, env):
    usage_error_at_start(pytester, f"drl_env = {env}", named=f"drl_env {env!r}")
