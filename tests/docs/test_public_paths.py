"""Every ``pytest_drlreward`` name and file the README and docs/*.md mention exists (a layout change must update them)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest_drlreward

ROOT = Path(__file__).resolve().parents[2]
DOTTED = re.compile(r"\bpytest_drlreward(?:\.[A-Za-z_]\w*)+")
FROM_IMPORT = re.compile(r"from (pytest_drlreward[\w.]*) import ([\w, ]+)")
FILE = re.compile(r"\b(?:pytest_drlreward|panda_env)/[\w/]+\.py\b")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def named(text: str) -> set[str]:
    """The dotted names in ``text``: ``pytest_drlreward.a.b`` and ``from pytest_drlreward.a import b, c``."""
    names = set(DOTTED.findall(text))
    for module, items in FROM_IMPORT.findall(text):
        names |= {f"{module}.{item.strip()}" for item in items.split(",") if item.strip()}
    return names


def resolves(name: str) -> bool:
    """Whether ``name`` is a module, or an attribute reached from the longest importable module prefix."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


def test_every_name_the_docs_mention_imports():
    found = {name: page.name for page in _pages() for name in named(page.read_text())}
    assert "pytest_drlreward.replay" in found  # the pages were read
    missing = sorted(f"{page}: {name}" for name, page in found.items() if not resolves(name))
    assert not missing, missing


def test_every_file_the_docs_mention_exists():
    found = {path: page.name for page in _pages() for path in FILE.findall(page.read_text())}
    assert any(path.startswith("pytest_drlreward/") for path in found)
    assert not sorted(f"{page}: {path}" for path, page in found.items() if not (ROOT / path).is_file())


def test_every_name_in_all_imports():
    for name in pytest_drlreward.__all__:
        assert getattr(pytest_drlreward, name) is not None


def test_the_check_catches_a_moved_module_and_a_missing_name():
    text = "see `pytest_drlreward.no_such_module` and\n    from pytest_drlreward.util.atomic import write_text_atomic, nope\n"
    assert named(text) == {"pytest_drlreward.no_such_module", "pytest_drlreward.util.atomic",
                           "pytest_drlreward.util.atomic.write_text_atomic", "pytest_drlreward.util.atomic.nope"}
    assert [resolves(n) for n in sorted(named(text))] == [False, True, False, True]
