"""The CI scripts cannot fail at random: no `producer | grep -q` under `set -o pipefail`.

`grep -q` exits at its first match; a producer still writing then dies of SIGPIPE (exit 141), and under
pipefail the whole pipeline fails although the text matched. It made CI red once the skip reasons grew
past one pipe write.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from repo_paths import ROOT

CI_SCRIPTS = sorted(p for p in (ROOT / ".ci").iterdir() if p.is_file())
EARLY_EXIT_PIPE = re.compile(r"\|\s*grep\s+(-\w*q\w*)\b")


def early_exit_pipes(text: str) -> list[str]:
    """The lines of a shell script that pipe into `grep -q` (comments ignored)."""
    return [line for line in text.splitlines() if not line.lstrip().startswith("#") and EARLY_EXIT_PIPE.search(line)]


@pytest.mark.parametrize("script", CI_SCRIPTS, ids=lambda p: p.name)
def test_ci_script_never_pipes_into_grep_q(script: Path) -> None:
    assert early_exit_pipes(script.read_text()) == []


def test_the_pattern_catches_the_pipe_that_broke_ci() -> None:
    broken = 'grep -E "^SKIPPED" "$log" | grep -qF "pytest-drlreward[$extra]" || fail "x"'
    assert early_exit_pipes(broken) == [broken]
    assert early_exit_pipes('grep -qF "x" "$WORK/skipped.log" || fail "x"') == []


def test_the_race_is_real_under_pipefail(tmp_path: Path) -> None:
    """The reason for the rule: on output longer than one pipe write, the pipe fails although it matched."""
    log = tmp_path / "log"
    log.write_text("".join(f"SKIPPED [2] {'x' * 400} pytest-drlreward[torch]\n" for _ in range(2000)))
    loop = (
        'set -o pipefail; fails=0; for i in $(seq 50); do '
        'grep -E "^SKIPPED" "$1" | grep -qF "pytest-drlreward[torch]" || fails=$((fails+1)); done; echo $fails'
    )
    fails = int(subprocess.run(["bash", "-c", loop, "_", str(log)], capture_output=True, text=True, check=True).stdout)
    assert fails > 0
