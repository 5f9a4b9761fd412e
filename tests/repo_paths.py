"""Where things are in the repository, for tests in any folder below ``tests/``."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent  # on sys.path (pyproject's pythonpath): fakes, reward_models, ...
ROOT = TESTS.parent
DOWNSTREAM = TESTS / "downstream"  # a downstream project: numpy envs, a tiny CNN, ini keys only
TINY_MODEL = DOWNSTREAM / "models" / "tiny"  # its classifier directory (format 1)
FIXTURES = ROOT / "fixtures"
LABELLED_IMAGES = FIXTURES / "labelled_images.npz"
SHIPPED_MODEL = ROOT / "panda_env" / "models" / "default"
