"""Replay a saved failing input: ``python -m pytest_drlreward.replay FILE.npz --model DIR --backend NAME
[--reference NAME]`` runs the backends on it again and prints what the check found (the same worst element,
flip, miss or false goal).

A check that fails attaches a :class:`ReplayCase` to its error (``error.replay``): the check, the failing
batch (every named input; for a batched check the batch of rows the backends ran on together, so the
numbers are the same), what it takes to judge it again, and the seeds and actions that reach it where
they exist. The plugin saves it with :func:`save_case` and prints :func:`command`. No pytest here, and no
print: the command line is ``replay/__main__.py``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from pytest_drlreward.checks.replay_case import (  # noqa: F401 (case_of, save_case: this module's public names)
    CHECKS,
    LABELS_KEY,
    META_KEY,
    SINGLE_KEY,
    ReplayCase,
    case_of,
    save_case,
)


def _false_goal_case(path: Path, inputs: dict[str, np.ndarray]) -> ReplayCase:
    """A false goal saved by ``checks.false_goals.save_false_goals`` (``false_goal_K.npz`` beside its JSON)."""
    from pytest_drlreward.checks.false_goals import FALSE_GOALS_FILE

    listing = path.parent / FALSE_GOALS_FILE
    summary = json.loads(listing.read_text())
    found = [row for row in summary.get("cases", []) if row.get("inputs") == path.name]
    if not found:
        raise ValueError(f"{listing} lists no case whose inputs are {path.name}")
    batch = {name: value[None] for name, value in inputs.items()}
    settings = {**found[0], "decider": summary.get("decider"), "truth_key": summary.get("truth_key")}
    return ReplayCase("false goals", next(iter(batch.values())) if len(batch) == 1 else batch, settings)


def load_case(path: str | Path) -> ReplayCase:
    """The case saved at ``path`` by :func:`save_case`, or a false goal saved by the search; ValueError when
    it is neither."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        if META_KEY not in data.files:
            if (path.parent / "false_goals.json").is_file():
                return _false_goal_case(path, {name: data[name] for name in data.files})
            raise ValueError(f"{path} is not a saved failing input (no {META_KEY} entry); the plugin saves them "
                             f"under drl_replay/ and prints their path")
        meta = json.loads(str(data[META_KEY]))
        arrays = {name: data[name] for name in data.files if name not in (META_KEY, LABELS_KEY)}
        labels = data[LABELS_KEY] if LABELS_KEY in data.files else None
    inputs = arrays[SINGLE_KEY] if meta["single"] else arrays
    trail_path = Path(path).with_suffix(".json")
    trail = json.loads(trail_path.read_text()) if trail_path.is_file() else None
    return ReplayCase(meta["check"], inputs, meta["settings"], labels, trail)


def command(path: str | Path, model_dir: str | Path, backend: str, reference: str | None = None, *,
            trust_code: bool = False, options: dict | None = None) -> str:
    """The shell command that replays the case saved at ``path``."""
    words = ["python", "-m", "pytest_drlreward.replay", str(path), "--model", str(model_dir), "--backend", backend]
    if reference is not None:
        words += ["--reference", reference]
    if trust_code:
        words.append("--trust-code")
    words += [f"--option={key}={value!r}" for key, value in (options or {}).items()]
    return " ".join(shlex.quote(word) for word in words)


def _load(name: str, model_dir: Any, trust_code: bool, options: dict) -> Any:
    from pytest_drlreward.backends import load_reference

    if ":" in name:  # a module:function reference takes no options
        return load_reference(name, model_dir)
    return load_reference(name, model_dir, **options, **({"trust_code": True} if trust_code else {}))


def replay(case: ReplayCase, model_dir: str | Path, backend: str, reference: str | None = None, *,
           trust_code: bool = False, options: dict | None = None) -> list[str]:
    """Run ``backend`` (and ``reference``) on the case's inputs again; the lines of what the check finds."""
    from pytest_drlreward.checks._inputs import batch_len
    from pytest_drlreward.classifier import open_model_dir

    if case.check not in CHECKS:
        raise ValueError(f"unknown check {case.check!r} in the saved case; known: {', '.join(CHECKS)}")
    directory = open_model_dir(model_dir)
    options = dict(options or {})
    candidate = _load(backend, directory, trust_code, options)
    first = int(case.settings.get("first_row", 0))
    head = (f"{case.check}: replaying rows {first}-{first + batch_len(case.inputs) - 1} of the run's "
            f"{case.settings.get('rows_in_run')} (the batch the backends ran together)")
    if case.check in ("parity", "decisions"):
        if reference is None:
            raise ValueError(f"a {case.check} case compares two backends: give --reference "
                             f"(it failed against {case.settings.get('reference')!r})")
        ref = _load(reference, directory, trust_code, {})
        if case.check == "parity":
            from pytest_drlreward.checks.parity import replay_lines
        else:
            from pytest_drlreward.checks.decisions import replay_lines
        return [head, *replay_lines(case, ref, candidate)]
    if case.check == "labelled":
        from pytest_drlreward.checks.accuracy import replay_lines

        return [head, *replay_lines(case, candidate)]
    return _false_goal_lines(case, candidate)


def _false_goal_lines(case: ReplayCase, backend: Any) -> list[str]:
    """The backend's goal decision and probability on a saved false goal, beside what the search saw."""
    from pytest_drlreward.checks._format import backend_name
    from pytest_drlreward.checks.decisions import decide

    found = decide(backend, case.inputs)
    s = case.settings
    verdict = "false goal" if found.goal[0] and not s.get("truth") else "no longer a false goal"
    reach = (f"env.reset(seed={s.get('seed')}) then {len(s['actions'])} saved actions" if s.get("actions") is not None
             else f"env.reset(seed={s.get('seed')}) then drl_place(state)")
    return [f"{verdict} at {s.get('where')}: goal probability {found.probability[0]:.3f}, truth {s.get('truth')} "
            f"(info[{s.get('truth_key')!r}] when found; {backend_name(backend)} now, {s.get('decider')} "
            f"{s.get('goal_probability', float('nan')):.3f} when found)", f"  to reach the state: {reach}"]
