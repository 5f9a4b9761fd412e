"""Classifier training and export, on a tiny capture (the real recipe is in the README)."""

from __future__ import annotations

import json

import numpy as np

from panda_env.reward import load_backend
from panda_env.training.capture import capture
from panda_env.training.classifier import export_trained, split_indices, train_classifier


def test_split_is_stratified_and_disjoint():
    labels = np.array([0] * 40 + [1] * 60)
    train, val, test = split_indices(labels, seed=0, val_fraction=0.2, test_fraction=0.1)
    assert len(set(train) | set(val) | set(test)) == 100
    assert not (set(train) & set(val)) and not (set(train) & set(test)) and not (set(val) & set(test))
    assert (labels[val] == 1).sum() == 12 and (labels[test] == 1).sum() == 6


def test_train_and_export_give_a_loadable_directory(tmp_path):
    data = capture(24, seed=7, image_size=32)
    reports = []
    result = train_classifier(data, epochs=2, batch_size=8, seed=0, on_epoch=reports.append)
    assert [r.epoch for r in reports] == [1, 2] and all(np.isfinite(r.train_loss) for r in reports)
    model_dir = export_trained(result, data, tmp_path / "model", seed=0)
    metadata = json.loads((model_dir.path / "metadata.json").read_text())
    assert metadata["format_version"] == 2 and metadata["inputs"][0]["shape"] == [None, 32, 32, 3]
    assert metadata["info"]["training_seed"] == 0 and "test_accuracy" in metadata["info"]
    logits = {name: load_backend(name, model_dir).logits(data.images[:3]) for name in ("torch", "openvino")}
    np.testing.assert_allclose(logits["openvino"], logits["torch"], atol=1e-4, rtol=1e-4)
