"""Golden outputs: each backend's logits on the labelled images, saved (--drl-golden-save=DIR) and
compared in a later run (--drl-golden-compare=DIR: another machine, another engine version).

Collected only when one of those options is given. A comparison judges a backend against its own
saved logits with its parity tolerance (quantized backends: argmax agreement), so the failure says
which elements moved and by how much, and with which engine version the golden file was saved.
"""

from __future__ import annotations

from pytest_drlreward.plugin.recording import GOLDEN_PROPERTY


def _golden(backend, labelled_images, drl_config, drl_parity, drl_verdicts):
    from pytest_drlreward.checks.parity import logits_in_batches
    from pytest_drlreward.plugin.golden import load_golden, save_golden

    images, _ = labelled_images
    if drl_config.golden_compare is not None:
        golden = load_golden(drl_config.golden_compare, backend.name, images)
        report = drl_parity.check(golden, backend, images, source=f"golden, {golden.describe()}")
        drl_verdicts(GOLDEN_PROPERTY, lambda: f"{backend.name}: same as {drl_config.golden_compare} ({report})")
    if drl_config.golden_save is not None:
        path = save_golden(drl_config.golden_save, backend.name, logits_in_batches(backend, images), images,
                           backend.goal_index, decision=getattr(backend, "decision", None))
        drl_verdicts(GOLDEN_PROPERTY, lambda: f"{backend.name}: saved logits on {len(images)} labelled images to {path}")


def test_reference_golden_outputs(reference_backend, labelled_images, drl_config, drl_parity, drl_verdicts):
    _golden(reference_backend, labelled_images, drl_config, drl_parity, drl_verdicts)


def test_backend_golden_outputs(reward_backend, labelled_images, drl_config, drl_parity, drl_verdicts):
    _golden(reward_backend, labelled_images, drl_config, drl_parity, drl_verdicts)
