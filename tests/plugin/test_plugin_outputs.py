"""The plugin's output files are checked at start and written with ordinary permissions.

Split from the former test_reliability.py; each test fails without the fix it names.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(("where", "message"), [("missing/timing.json", "directory .*missing does not exist"),
                                                ("afile/timing.json", "directory .*afile does not exist"),
                                                ("adir", "is a directory"),
                                                ("readonly/timing.json", "cannot write to .*Read-only file system")])
def test_an_unwritable_timing_json_is_a_usage_error_at_start(pytester, unwritable, where, message):
    import re

    (pytester.path / "afile").write_text("")
    (pytester.path / "adir").mkdir()
    (pytester.path / "readonly").mkdir()
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest(f"--drl-timing-json={where}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert re.search(message, result.stderr.str()), result.stderr.str()
    assert not (pytester.path / "missing").exists()  # not created silently


def test_the_timing_json_gets_ordinary_permissions(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    assert pytester.runpytest("--drl-timing-json=timing.json").ret == pytest.ExitCode.OK
    mask = os.umask(0)
    os.umask(mask)
    assert (pytester.path / "timing.json").stat().st_mode & 0o777 == 0o666 & ~mask
