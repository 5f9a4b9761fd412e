"""The SAC search's Markdown report (``docs/tuning.md``): the trials, the recheck, the confirmation and the choice."""

from __future__ import annotations

import pprint
import statistics
from collections.abc import Sequence
from typing import Any

from panda_env.bench.tune_search import PENALTY_FACTOR, PENALTY_FLOOR_S, SEARCH_SPACE, TrialRow, chosen, sac_kwargs, seed_cells


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def trials_table(rows: Sequence[TrialRow], top: int = 10) -> list[str]:
    """Markdown table of the ``top`` rows: value, state, per-seed steps / seconds to solve, parameters."""
    from panda_env.bench.tables import render

    names = list(SEARCH_SPACE)
    headers = ["trial", "mean s (objective)", "state", "seed: steps / s to solve", *names]
    body = [[row.name, "-" if row.value is None else f"{row.value:.1f}", row.state, seed_cells(row),
             *(_fmt(row.params.get(n, "")) for n in names)] for row in list(rows)[:top]]
    return render(headers, body, markdown=True)


def confirmation_table(rows: Sequence[TrialRow]) -> list[str]:
    """Markdown table: one line a seed, steps / training seconds to solve (and final success) per setting."""
    from panda_env.bench.tables import render

    headers = ["seed", *(f"{row.name}: steps / s (final success)" for row in rows)]
    seeds = [r.seed for r in rows[0].results] if rows else []
    body = []
    for i, seed in enumerate(seeds):
        cells = []
        for row in rows:
            r = row.results[i]
            final = "" if r.final_success is None else f" ({100 * r.final_success:.0f}%)"
            cells.append(f"{r.steps}{'' if r.solved else ' unsolved'} / {r.seconds:.1f}{final}")
        body.append([str(seed), *cells])
    body.append(["mean", *(f"{statistics.mean(r.steps for r in row.results):.0f} / "
                           f"{statistics.mean(r.seconds for r in row.results):.1f}" for row in rows)])
    return render(headers, body, markdown=True)


def render_markdown(rows: Sequence[TrialRow], command: str, meta: dict[str, Any], top: int = 10,
                    confirmation: Sequence[TrialRow] | None = None, confirm_meta: dict[str, Any] | None = None,
                    rechecked: Sequence[TrialRow] | None = None) -> str:
    """The whole report: command, search space, top trials, the recheck, and the confirmation with the choice."""
    space = "\n".join(f"- `{name}`: {'log-uniform ' if isinstance(v, tuple) else ''}{list(v) if isinstance(v, tuple) else v}"
                      for name, v in SEARCH_SPACE.items())
    lines = ["# SAC settings for the fast profile", "", "```", command, "```", "",
             f"Search: {meta.get('trials', len(rows))} trials in {meta.get('search_s', 0) / 60:.0f} min, "
             f"reward `{meta.get('backend', 'oracle')}`, seeds {list(meta.get('seeds', []))}, step cap {meta.get('cap')}, "
             f"check every {meta.get('every')} steps on {meta.get('episodes')} episodes (solved: >= 90% true-goal "
             f"success); objective: mean training seconds to solve (checks excluded), an unsolved seed counting "
             f"{PENALTY_FACTOR:g}x its seconds (at least {PENALTY_FLOOR_S:g} s). "
             f"Optuna TPE (seed {meta.get('sampler_seed')}), median pruner.", "",
             "## Search space", "", space, "", f"## Top {min(top, len(rows))} trials", "", *trials_table(rows, top), ""]
    if rechecked:
        lines += [f"## Recheck: the top {len(rechecked)} on seeds {list(meta.get('recheck_seeds', []))} as well", "",
                  "Ranked by the mean over all seeds (an unsolved seed stops a setting and counts as above).", "",
                  *trials_table(rechecked, len(rechecked)), ""]
    if confirmation:
        cm = confirm_meta or {}
        lines += ["## Confirmation", "",
                  f"Reward `{cm.get('backend', 'openvino')}`, seeds {list(cm.get('seeds', []))}, settings alternated "
                  f"seed by seed; final success on {cm.get('eval_episodes', 50)} other episodes.", "",
                  *confirmation_table(confirmation), ""]
        best = chosen(confirmation)
        lines += ["## Chosen", ""]
        if best is None:
            lines += ["No candidate solved faster than the current settings on every seed: keep them.", ""]
        else:
            lines += [f"`{best.name}` solved faster on every seed:", "", "```python",
                      pprint.pformat(sac_kwargs(best.params), sort_dicts=False, width=110), "```", ""]
    return "\n".join(lines)
