"""Issue 20 case 8: a directory replaced by ``atomic_directory`` survives SIGKILL at any moment, and concurrent
writers and readers see one clear error at most, never a raw OSError or a missing or partial directory.

The writers run in processes forked by a ``forkserver`` that imported everything first, so a kill lands
in the write itself. The short variants run by default; the long ones (150 kills of ``export_classifier``,
a longer race of exports) are ``-m slow``.
"""

from __future__ import annotations

import multiprocessing
import random
import sys
import time
from pathlib import Path

import pytest
from repo_paths import DOWNSTREAM, TESTS

sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(DOWNSTREAM))
import atomic_workers  # noqa: E402

KILLS = 150


def _context(*preload: str):
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["atomic_workers", *preload])
    return context


def _kill_at_random(context, target_fn, args, rng: random.Random, longest_s: float, started=None) -> bool:
    """Start ``target_fn(*args)``, SIGKILL it after a random time up to ``longest_s`` (counted from when it sets
    the event ``started``, if given); whether it was killed."""
    process = context.Process(target=target_fn, args=args)
    process.start()
    if started is not None:
        started.wait(60)
    process.join(rng.uniform(0.0, longest_s))
    killed = process.is_alive()
    process.kill()
    process.join()
    assert process.exitcode in (0, -9), f"the writer failed (exit code {process.exitcode}) instead of finishing or being killed"
    return killed


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}"))


@pytest.mark.parametrize("kills", [pytest.param(40, id="40-kills"),
                                   pytest.param(KILLS, id="150-kills", marks=pytest.mark.slow)])
def test_sigkill_during_a_directory_replace_leaves_the_old_or_the_new_copy(tmp_path, kills, record_property):
    target = tmp_path / "out"
    atomic_workers.write_generation(str(target), 0, 0)
    context, rng = _context(), random.Random(0)
    durations = []
    for _ in range(3):  # how long a child's write takes, from its first line (the forkserver warm)
        started = context.Event()
        child = context.Process(target=atomic_workers.write_when_told, args=(str(target), 0, 1, started))
        child.start()
        started.wait(60)
        start = time.perf_counter()
        child.join()
        durations.append(time.perf_counter() - start)
    longest = 1.2 * sorted(durations)[1]  # kills land anywhere in a write, a few after it
    seen, killed = set(), 0
    for attempt in range(2, kills + 2):
        started = context.Event()
        killed += _kill_at_random(context, atomic_workers.write_when_told, (str(target), 0, attempt, started), rng,
                                  longest, started)
        assert target.is_dir(), f"kill {attempt}: no directory under {target.name} (left: {_leftovers(tmp_path, 'out')})"
        seen.add(atomic_workers.read_whole(str(target)))
    record_property("summary", f"atomic_directory: {killed} of {kills} writers killed mid-write, the old or new copy "
                               f"whole every time ({len(seen)} distinct copies seen)")
    assert killed >= kills // 4, f"only {killed} of {kills} writers were killed mid-write"
    atomic_workers.write_generation(str(target), 0, 999)  # the next write removes what the killed ones left
    assert atomic_workers.read_whole(str(target)) == "0:999"
    assert _leftovers(tmp_path, "out") == []


def _race(tmp_path: Path, writer, seconds: float, preload: tuple[str, ...] = (), reader=atomic_workers.reader_loop,
          target: Path | None = None) -> list[tuple]:
    if target is None:
        target = tmp_path / "out"
        atomic_workers.write_generation(str(target), 9, 0)
    context = _context(*preload)
    results = context.Queue()
    processes = [context.Process(target=writer, args=(str(target), n, seconds, results)) for n in (1, 2)]
    processes.append(context.Process(target=reader, args=(str(target), seconds, results)))
    for process in processes:
        process.start()
    found = [results.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join()
    return found



def _no_raw_error_and_no_failed_read(found: list, record_property, label: str) -> None:
    """The race's verdict: no writer saw a raw OSError, some wrote, and the reader read whole copies only."""
    writers = [counts for kind, _, counts in found if kind == "writer"]
    reader = next(counts for kind, _, counts in found if kind == "reader")
    record_property("summary", f"{label}: writers {[(w['written'], w['refused'], w['raw']) for w in writers]} "
                               f"(written, refused, raw OSError); reader {reader['read']} whole, {reader['failed']} failed")
    assert sum(w["raw"] for w in writers) == 0, writers
    assert sum(w["written"] for w in writers) > 0, writers
    assert reader["failed"] == 0 and reader["read"] > 0, reader


def test_two_writers_and_a_reader_see_no_raw_oserror_and_no_missing_read(tmp_path, record_property):
    found = _race(tmp_path, atomic_workers.writer_loop, seconds=4.0)
    _no_raw_error_and_no_failed_read(found, record_property, "race")


@pytest.mark.slow
def test_150_sigkills_during_export_classifier_leave_a_loadable_directory(tmp_path, record_property):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from pytest_drlreward.backends import load_backend
    from pytest_drlreward.classifier import open_model_dir

    target = tmp_path / "classifier"
    context = _context("torch", "onnx", "onnxruntime", "openvino", "tiny_model", "pytest_drlreward.classifier.export")
    for warm in (0, 1):  # the first export reads torch, ONNX Runtime and OpenVINO cold: time the second one
        whole = context.Process(target=atomic_workers.export_tiny, args=(str(target), warm))
        start = time.perf_counter()
        whole.start()
        whole.join()
        assert whole.exitcode == 0 and target.is_dir()
    longest = 1.5 * (time.perf_counter() - start)
    rng, killed = random.Random(0), 0
    for attempt in range(1, KILLS + 1):
        killed += _kill_at_random(context, atomic_workers.export_tiny, (str(target), attempt), rng, longest)
        assert target.is_dir(), f"kill {attempt}: no directory (left: {_leftovers(tmp_path, 'classifier')})"
        load_backend("onnxruntime", open_model_dir(target))
    record_property("summary", f"export_classifier: {killed} of {KILLS} exports killed, a loadable directory every time")
    assert killed >= KILLS // 3, f"only {killed} of {KILLS} exports were killed mid-write"


def test_without_renameat2_a_kill_between_the_two_renames_is_repaired_by_the_next_write(tmp_path, monkeypatch):
    """The fallback swap (old aside, new in): a writer killed between the renames leaves the old copy aside; the next
    write puts it back before anything else, so the name never stays empty."""
    from pytest_drlreward.util import atomic

    target = tmp_path / "out"
    atomic_workers.write_generation(str(target), 0, 1)
    monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    atomic_workers.write_generation(str(target), 0, 2)  # the fallback path works
    assert atomic_workers.read_whole(str(target)) == "0:2"
    target.rename(tmp_path / ".out.old-killed")  # what a kill between the two renames leaves
    with pytest.raises(RuntimeError):
        with atomic.atomic_directory(target, overwrite=True):
            assert atomic_workers.read_whole(str(target)) == "0:2"  # put back before the new copy is written
            raise RuntimeError("the writer fails")
    assert atomic_workers.read_whole(str(target)) == "0:2"
    assert _leftovers(tmp_path, "out") == []


@pytest.mark.slow
def test_two_exporting_writers_and_a_reader_see_no_raw_oserror_and_no_missing_read(tmp_path, record_property):
    pytest.importorskip("torch")
    target = tmp_path / "classifier"
    context = _context("torch", "onnx", "onnxruntime", "openvino", "tiny_model", "pytest_drlreward.classifier.export")
    first = context.Process(target=atomic_workers.export_tiny, args=(str(target), 0))
    first.start()
    first.join()
    found = _race(tmp_path, atomic_workers.export_loop, seconds=40.0,
                  preload=("torch", "onnx", "tiny_model", "pytest_drlreward.classifier.export"),
                  reader=atomic_workers.open_loop, target=target)
    _no_raw_error_and_no_failed_read(found, record_property, "export race")
