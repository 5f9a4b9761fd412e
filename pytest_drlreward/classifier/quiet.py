"""Keep ``torch.onnx``'s irrelevant warnings off a user's terminal during ``export_classifier``.

Without torchvision, the dynamo exporter logs ``torchvision is not installed. Skipping
torchvision::nms`` (and 3 more ops) on every export: true, and of no use to a model that uses none of
them. Only those records are dropped, and only while the block runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

REGISTRATION_LOGGER = "torch.onnx._internal.exporter._registration"


class _SkipTorchvisionNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("torchvision is not installed. Skipping")


@contextlib.contextmanager
def quiet_onnx_export() -> Iterator[None]:
    """Drop the exporter's "torchvision is not installed" records inside the block."""
    logger, notice = logging.getLogger(REGISTRATION_LOGGER), _SkipTorchvisionNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)
