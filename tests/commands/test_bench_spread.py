"""The spread beside every benchmark ratio, and the warnings for noisy timings and a busy machine (issue 21)."""

from __future__ import annotations

import pytest

from panda_env.bench.compare import compare_warnings
from panda_env.bench.spread import (
    Spread,
    format_ratio,
    keyed_spread,
    load_warning,
    noise_warnings,
    ratio_iqr,
    sample_spread,
)
from panda_env.bench.step_profile import add_step_totals, bench_warnings


def test_ratio_iqr_spans_the_quartiles_of_both_samples():
    spread = ratio_iqr([4.0, 4.0, 4.0, 4.0, 4.0], [1.0, 1.0, 2.0, 3.0, 3.0])
    assert spread.value == pytest.approx(2.0)
    assert (spread.low, spread.high) == pytest.approx((4.0 / 3.0, 4.0))
    assert format_ratio(spread) == "2.00x (IQR 1.33-4.00x)"
    assert format_ratio(ratio_iqr([4.0], [2.0])) == "2.00x"  # one sample each: no spread to show
    assert sample_spread([1.0]).width is None


def _profile_row(torch_ms: list[float], openvino_ms: list[float], image_size: int = 48) -> dict:
    """A bench row whose reward timings had these quartiles (Q1, median, Q3)."""
    row = {"profile": "fast", "render_quality": "fast", "image_size": image_size, "move_ms": 0.5, "render_ms": 0.9,
           "sac_learning_ms": 3.0}
    for name, (q1, median, q3) in (("torch", torch_ms), ("openvino", openvino_ms)):
        row.update({f"reward_{name}_ms": median, f"reward_{name}_q1_ms": q1, f"reward_{name}_q3_ms": q3})
    return add_step_totals(row, ("torch", "openvino"))


def test_bench_warns_when_a_speed_up_is_within_its_spread():
    # "0.44x and 12.59x in neighbouring rows": a noisy OpenVINO timing whose IQR spans far more than the effect
    noisy = _profile_row([1.0, 1.1, 1.2], [0.1, 0.9, 2.5])
    steady = _profile_row([1.0, 1.0, 1.0], [0.33, 0.34, 0.35], image_size=96)
    assert format_ratio(keyed_spread(noisy, "speedup_openvino")) == "1.22x (IQR 0.40-12.00x)"
    warnings = bench_warnings([noisy, steady], load=0.5, cores=2)
    assert len(warnings) == 1
    assert "spread (IQR) reaches no effect (1x for a speed-up, 0% for a saving) for the OV speed-up (fast, fast, 48)" \
        in warnings[0]
    assert bench_warnings([steady], load=0.5, cores=2) == []


def _compare_rows(savings: list[float] | None, speedup: float, speedup_iqr: list[float], training_ratio: float):
    first = {"backend": "torch", "saving_vs_first_pct": 0.0, "speedup_vs_first": 1.0}
    other = {"backend": "openvino", "saving_vs_first_pct": sum(savings) / len(savings),
             "saving_vs_first_pct_iqr": [min(savings), max(savings)], "speedup_vs_first": speedup,
             "speedup_vs_first_iqr": speedup_iqr, "training_reward_ratio": training_ratio}
    return [first, other]


def test_compare_warns_on_a_saving_within_its_spread_and_on_contradicting_speed_ups():
    # "a reward-call speed-up of 18.44x while OpenVINO's reward time was 7.3 s against Torch's 4.3 s, a saving of -96.3%"
    rows = _compare_rows([-96.3, 2.0, 10.0], 18.44, [3.0, 30.0], 4.3 / 7.3)
    text = "\n".join(compare_warnings(rows, load=0.5, cores=2))
    # the saving's spread crosses 0%; the speed-up's (3-30x), wide as it is, stays far above 1x
    assert "0% for a saving) for openvino's saving:" in text
    assert "18.44x faster in the step loop but 0.59x in the training runs" in text
    quiet = _compare_rows([6.0, 6.5, 7.0], 2.7, [2.6, 2.8], 2.5)
    assert compare_warnings(quiet, load=0.5, cores=2) == []


def test_a_wide_spread_far_from_no_effect_is_no_warning():
    # a newcomer's run: "10.60x (IQR 8.25-20.90x)" was flagged though its whole range is far above 1x
    clear, unsure = Spread(10.60, 8.25, 20.90), Spread(1.5, 0.9, 3.0)
    assert noise_warnings({"clear": (clear, 1.0)}, load=0.5, cores=2) == []
    assert "for unsure:" in noise_warnings({"unsure": (unsure, 1.0), "clear": (clear, 1.0)}, load=0.5, cores=2)[0]
    assert noise_warnings({"saving": (Spread(-2.0, -5.0, 0.0), 0.0)}, load=0.5, cores=2)  # touching 0% counts


def test_a_load_average_above_the_cores_is_a_warning():
    assert load_warning(3.5, 2).startswith("WARNING: the machine is busy: load average 3.5 on 2 cores")
    assert load_warning(1.9, 2) is None
    assert noise_warnings({}, load=5.0, cores=2)[0].startswith("WARNING: the machine is busy")
