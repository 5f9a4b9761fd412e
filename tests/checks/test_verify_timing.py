"""Timing: spread beside the median, the xdist note, threads, and baselines of latency ratios that fail on a
regression beyond the margin."""

from __future__ import annotations

import time

import pytest

from pytest_drlreward import timing


def test_measure_reports_the_spread():
    calls = iter([0.0, 0.0, 0.004, 0.001, 0.001, 0.001, 0.002])
    sample = timing.measure(lambda: time.sleep(next(calls)), rounds=5, warmup=2)
    assert sample.rounds == 5 and sample.min_ms <= sample.q1_ms <= sample.median_ms <= sample.q3_ms <= sample.max_ms
    assert sample.max_ms >= 4.0 > sample.median_ms >= 1.0


def _row(backend, batch, median, spread=0.1, **extra):
    return {"backend": backend, "batch": batch, "median_ms": median, "min_ms": median - spread,
            "max_ms": median + 2 * spread, "q1_ms": median - spread / 2, "q3_ms": median + spread / 2, **extra}


def test_table_shows_spread_threads_and_says_when_measured_under_xdist():
    rows = [_row("torch", 1, 2.0, threads=1, xdist_workers=2), _row("openvino", 1, 0.5, threads=1, xdist_workers=2)]
    lines = timing.table_lines(timing.summarise(rows))
    assert lines[0].split() == ["backend", "batch", "median", "ms", "IQR", "ms", "min-max", "ms", "threads", "speed-up",
                                "vs", "torch"]
    assert lines[1].split() == ["torch", "1", "2.000", "1.950-2.050", "1.900-2.200", "1", "1.00x"]
    assert lines[2].split() == ["openvino", "1", "0.500", "0.450-0.550", "0.400-0.700", "1", "4.00x"]
    assert "measured under pytest-xdist with 2 workers" in lines[3]
    assert "xdist" not in "\n".join(timing.table_lines(timing.summarise([_row("torch", 1, 2.0)])))


def test_baselines_hold_ratios_and_a_regression_beyond_the_margin_fails():
    before = timing.summarise([_row("torch", 1, 2.0), _row("openvino", 1, 0.5), _row("onnxruntime", 1, 0.4)])
    baseline = timing.baseline_from(before)
    assert baseline["ratios"] == {"torch@1": 1.0, "openvino@1": 0.25, "onnxruntime@1": 0.2}
    # another machine, 10x slower everywhere: ratios unchanged, no regression
    comparisons, notes = timing.compare_with_baseline(
        timing.summarise([_row("torch", 1, 20.0), _row("openvino", 1, 5.0), _row("onnxruntime", 1, 4.0)]), baseline, 0.5)
    assert not any(c.regressed for c in comparisons) and notes == []
    # openvino now 0.8 of torch's time (was 0.25): a regression; onnxruntime within +50%; one row missing
    now = timing.summarise([_row("torch", 1, 2.0), _row("openvino", 1, 1.6), _row("onnxruntime", 1, 0.55), _row("x", 8, 1.0)])
    comparisons, notes = timing.compare_with_baseline(now, baseline, 0.5)
    regressed = {c.key for c in comparisons if c.regressed}
    assert regressed == {"openvino@1"}
    assert str(next(c for c in comparisons if c.key == "openvino@1")).endswith("(baseline 0.250x, +220%; allowed +50%) REGRESSION")
    assert notes == []  # x@8 has no torch row at batch 8, so no ratio to compare
    with pytest.raises(ValueError, match="not a timing baseline"):
        timing.compare_with_baseline(now, {"ratios": []})


def test_the_speed_up_column_is_named_after_the_reference_and_measured_against_it():
    """Issue 27: with another reference the column said "vs torch" and showed only "-"."""
    reference = "reward_models:mean_views_numpy"
    rows = [_row(reference, 1, 2.0), _row("openvino", 1, 0.5), _row("torch", 1, 1.0)]
    summary = timing.summarise(rows, reference)
    lines = timing.table_lines(summary)
    assert lines[0].split()[-3:] == ["speed-up", "vs", reference]
    assert lines[1].split()[0] == reference and lines[1].split()[-1] == "1.00x"  # the reference first
    assert {line.split()[0]: line.split()[-1] for line in lines[2:]} == {"openvino": "4.00x", "torch": "2.00x"}
    baseline = timing.baseline_from(summary)
    assert baseline["reference"] == reference and baseline["ratios"]["openvino@1"] == 0.25
    # the default stays Torch
    assert timing.table_lines(timing.summarise(rows))[0].split()[-3:] == ["speed-up", "vs", "torch"]


def test_a_callable_reference_gets_no_thread_count_the_plugin_did_not_set():
    from pytest_drlreward.plugin.recording import TimingRecorder

    class Node:
        user_properties: list = []

    class Callable:
        name = "my_lab.rewards:apply"

        def logits(self, images):
            return images

    class Engine(Callable):
        name = "onnxruntime"

    node = Node()
    recorder = TimingRecorder(node, threads=lambda backend: 1)
    recorder.measure(Callable(), [[0.0]], rounds=2, warmup=0)
    recorder.measure(Engine(), [[0.0]], rounds=2, warmup=0)
    rows = {row["backend"]: row for _, row in node.user_properties}
    assert rows["my_lab.rewards:apply"]["threads"] is None and rows["onnxruntime"]["threads"] == 1
    line = timing.table_lines(timing.summarise(list(rows.values()), "my_lab.rewards:apply"))[1]
    assert line.split()[0] == "my_lab.rewards:apply" and line.split()[-2] == "-"  # threads: not set by the plugin
