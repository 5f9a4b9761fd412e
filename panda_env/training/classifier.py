"""Train the reward classifier from scratch on a capture, measure it, and export its directory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from panda_env.training.capture import MANIFEST_KEYS, CaptureSet
from pytest_drlreward.classifier import ModelDir, export_classifier

logger = logging.getLogger(__name__)
FACTORY = "panda_env.reward.model:build_classifier"


@dataclass
class EpochReport:
    epoch: int
    train_loss: float
    val_accuracy: float


@dataclass
class TrainingResult:
    model: object
    history: list[EpochReport] = field(default_factory=list)
    val_accuracy: float = 0.0
    test_accuracy: float = 0.0
    split: dict = field(default_factory=dict)


def split_indices(labels: np.ndarray, seed: int, val_fraction: float, test_fraction: float):
    """Shuffle and cut indices into train / validation / held-out test, stratified by label."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_val, n_test = int(len(idx) * val_fraction), int(len(idx) * test_fraction)
        parts[1].append(idx[:n_val])
        parts[2].append(idx[n_val:n_val + n_test])
        parts[0].append(idx[n_val + n_test:])
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


def accuracy(model, images: np.ndarray, labels: np.ndarray, batch_size: int = 256) -> float:
    """Fraction of images whose argmax equals the label."""
    import torch

    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            logits = model(torch.from_numpy(images[start:start + batch_size]))
            correct += int((logits.argmax(1).numpy() == labels[start:start + batch_size]).sum())
    return correct / max(len(images), 1)


def train_classifier(data: CaptureSet, *, epochs: int = 25, batch_size: int = 64, lr: float = 1e-3,
                     seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15,
                     architecture: str = "squeezenet1_1",
                     on_epoch: Callable[[EpochReport], None] | None = None) -> TrainingResult:
    """Train SqueezeNet (2 classes, from scratch) with a fixed seed; keep the best validation epoch."""
    import torch
    from torch import nn

    from panda_env.reward.model import build_classifier

    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    counts = np.bincount(data.labels, minlength=2)
    if counts.min() < 2:
        raise ValueError(f"the capture holds {counts[1]} goal and {counts[0]} not-goal images: a classifier needs at "
                         f"least 2 of each class (capture more images, e.g. `python -m panda_env capture --n 4000`)")
    torch.manual_seed(seed)
    train_idx, val_idx, test_idx = split_indices(data.labels, seed, val_fraction, test_fraction)
    images, labels = data.images, data.labels
    model = build_classifier(architecture)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * int(np.ceil(len(train_idx) / batch_size)))
    loss_fn = nn.CrossEntropyLoss()
    generator = np.random.default_rng(seed)
    result = TrainingResult(model, split={"train": len(train_idx), "val": len(val_idx), "test": len(test_idx)})
    best_state, best_acc = None, -1.0
    for epoch in range(1, epochs + 1):
        model.train()
        order = generator.permutation(train_idx)
        total, count = 0.0, 0
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            x = torch.from_numpy(images[batch])
            y = torch.from_numpy(labels[batch])
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        val_acc = accuracy(model, images[val_idx], labels[val_idx]) if len(val_idx) else float("nan")
        report = EpochReport(epoch, total / count, val_acc)
        result.history.append(report)
        logger.info("epoch %d/%d  loss %.4f  val accuracy %.4f", epoch, epochs, report.train_loss, val_acc)
        if on_epoch is not None:
            on_epoch(report)
        if val_acc >= best_acc:
            best_acc = val_acc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    result.val_accuracy = best_acc
    result.test_accuracy = accuracy(model, images[test_idx], labels[test_idx]) if len(test_idx) else float("nan")
    return result


def export_trained(result: TrainingResult, data: CaptureSet, out_dir: str | Path, *, seed: int,
                   architecture: str = "squeezenet1_1", overwrite: bool = False) -> ModelDir:
    """Write the trained classifier as a model directory with its training record in metadata."""
    info = {
        "architecture": architecture, "training_seed": seed, "val_accuracy": result.val_accuracy,
        "test_accuracy": result.test_accuracy, "split": result.split,
        "capture": {k: data.manifest[k] for k in MANIFEST_KEYS},
    }
    return export_classifier(result.model, data.images[:2], out_dir, torch_factory=FACTORY,
                             torch_factory_kwargs={"architecture": architecture}, info=info,
                             overwrite=overwrite)
