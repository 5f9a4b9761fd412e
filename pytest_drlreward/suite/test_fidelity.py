"""The contract suite's reward fidelity: each backend decides the reward as the env's truth says, on a random
rollout and on the states a search for false goals and for goals finds (``drl_search_steps``); the threshold
sweep of the rule on those states; the false goals found, saved to reproduce.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_drlreward.plugin.recording import FIDELITY_PROPERTY
from pytest_drlreward.suite.shapes import check_image_shape


def _save_false_goals(backend, searches, scores, drl_config, tmp_path_factory):
    """The false goals ``backend`` makes on the searched states, saved (``--drl-plots`` DIR, else pytest's
    temporary directory); the directory, or None when there were none."""
    from pytest_drlreward.checks.false_goals import false_goals_in, save_false_goals

    found = [false_goals_in(states, scores=score, decider=backend.name) for states, score in zip(searches, scores)]
    found = [search for search in found if search.false_goals]
    if not found:
        return None
    base = drl_config.plots if drl_config.plots is not None else tmp_path_factory.getbasetemp()
    directory = base / f"drl_false_goals_{backend.name}"
    directory.mkdir(exist_ok=True)
    for search in found:
        save_false_goals(search, directory / search.states.purpose.replace(" ", "_"), png=drl_config.plots is not None)
    return directory


def _replay_first(saved, backend, drl_config):
    """The line with the command that replays the first saved false goal (the most confident of its search)."""
    from pytest_drlreward.replay import command

    first = next(iter(sorted(saved.glob("*/false_goal_0.npz"))), None)
    if first is None or drl_config.model_dir is None:
        return ""
    return f"\n  replay the first: {command(first, drl_config.model_dir, backend.name, trust_code=drl_config.trust_code)}"


def _scores(backend, states, drl_config):
    """``(decisions, probabilities)`` of ``backend`` on ``states``; the searches' guide reuses what they stored."""
    from pytest_drlreward.checks.goalscore import goal_scores
    from pytest_drlreward.checks.search import SearchRollout
    from pytest_drlreward.plugin.fixtures import search_guide

    if isinstance(states, SearchRollout) and backend.name == search_guide(drl_config):
        return states.decisions, states.probabilities
    return goal_scores(backend, states.images)


def _fidelity(request, backend, rollout, searches, drl_config, drl_verdicts, tmp_path_factory, scores=None):
    """Judge ``backend`` on the rollout and the searched states; record each part; return the report and the
    scores of every part (rollout first) for the sweep."""
    from pytest_drlreward.checks.fidelity import FidelityError, fidelity_report
    from pytest_drlreward.plugin.recording import record

    if not drl_config.truth_key:
        pytest.skip("no truth key: set drl_truth_key to the info key holding the env's ground truth (e.g. true_goal)")
    check_image_shape(rollout, backend)
    if scores is None:
        scores = [_scores(backend, part, drl_config) for part in (rollout, *searches)]
    saved = _save_false_goals(backend, searches, scores[1:], drl_config, tmp_path_factory)

    def check():
        __tracebackhide__ = True
        report = fidelity_report(rollout, *scores[0], backend.name, min_recall=drl_config.min_recall,
                                 max_false_goal_rate=drl_config.max_false_goal_rate, min_goals=drl_config.min_goals,
                                 parts=[(states, *score) for states, score in zip(searches, scores[1:])])
        if not report.passed:
            error = FidelityError(report)
            if saved is not None:
                error.args = (f"{error}\n  false goals saved (inputs, seeds, actions) in {saved}"
                              + _replay_first(saved, backend, drl_config),)
            raise error
        return report

    report = None
    try:
        report = drl_verdicts(FIDELITY_PROPERTY, check)
    except AssertionError as error:
        report = getattr(error, "report", None)
        raise
    finally:
        for part in report.parts if report is not None and len(report.parts) > 1 else ():  # what each part found
            record(request.node, FIDELITY_PROPERTY, f"  {part}")
        if saved is not None:
            record(request.node, FIDELITY_PROPERTY, f"  false goals saved in {saved}")
    return scores


def _sweep(request, backend, rollout, searches, scores, drl_config):
    """The threshold sweep on every collected state, in the summary (and a PNG with --drl-plots)."""
    from pytest_drlreward.checks.sweep import plot_sweep, sweep_thresholds
    from pytest_drlreward.plugin.recording import SWEEP_PROPERTY, record

    parts = [rollout, *searches]
    truth = np.concatenate([part.truth for part in parts])
    probabilities = np.concatenate([probability for _, probability in scores])
    report = sweep_thresholds(truth, probabilities, min_recall=drl_config.min_recall,
                              max_false_goal_rate=drl_config.max_false_goal_rate,
                              states=f"{backend.name} on " + " + ".join(part.describe() for part in parts))
    for line in report.table():
        record(request.node, SWEEP_PROPERTY, line)
    if drl_config.plots is not None:
        path = plot_sweep(report, drl_config.plots / f"threshold_sweep_{backend.name}.png")
        record(request.node, SWEEP_PROPERTY, f"curve: {path}" if path else "curve: not drawn (matplotlib is not installed)")
    return report


def _searches(request, drl_rollout, drl_config):
    """``drl_search``'s states; a NOT VERIFIED (search) that ``drl_allow_unverified`` accepts leaves the rollout
    alone (said in the coverage table). Records what the verdict rests on: states, episodes, goal states, sources."""
    from pytest_drlreward.errors import NotVerifiedError
    from pytest_drlreward.plugin.recording import ACCEPTED_PROPERTY, COVERAGE_PROPERTY
    from pytest_drlreward.plugin.verdicts import describe_episodes, describe_sources

    rollout = describe_episodes(drl_rollout)
    on = [f"fidelity: rollout of {rollout} ({describe_sources(dict(drl_rollout.sources))})"]
    try:
        searches = request.getfixturevalue("drl_search")
    except NotVerifiedError as error:
        reason = drl_config.allow_unverified.get("search")
        if reason is None:
            raise
        request.node.user_properties.append((ACCEPTED_PROPERTY, "search"))
        searches, on = (), [*on, f"no search: accepted as not verified ({reason}): {error.reason}"]
    on += [f"+ search for {part.purpose}: {describe_episodes(part)}" for part in searches]
    request.node.user_properties += [(COVERAGE_PROPERTY, line) for line in on]
    return searches


def _dense(backend) -> bool:
    """Whether ``backend``'s rule is a dense score (no threshold): judged by score fidelity, not by goal decisions."""
    from pytest_drlreward.classifier.decision import rule_of

    return not rule_of(backend).decides


def _score_fidelity(backend, rollout, searches, drl_config, drl_verdicts):
    """A dense score against the env's dense truth: correlation on the rollout, false goals (a high score where
    the truth is low) on the searched states."""
    from pytest_drlreward.checks.fidelity import assert_reward_fidelity

    check_image_shape(rollout, backend)
    return drl_verdicts(FIDELITY_PROPERTY, lambda: assert_reward_fidelity(
        rollout, backend, searches=searches, max_false_goal_rate=drl_config.max_false_goal_rate))


def test_reference_reward_fidelity(request, reference_backend, drl_rollout, drl_config, drl_verdicts, tmp_path_factory):
    """The reference's reward agrees with the env's truth on the rollout and the searched states (recall,
    false-goal rates); the threshold sweep of its goal probability goes to the summary."""
    if not drl_config.truth_key:
        pytest.skip("no truth key: set drl_truth_key to the info key holding the env's ground truth (e.g. true_goal)")
    check_image_shape(drl_rollout, reference_backend)
    drl_search = _searches(request, drl_rollout, drl_config)
    if _dense(reference_backend):  # no threshold to sweep
        _score_fidelity(reference_backend, drl_rollout, drl_search, drl_config, drl_verdicts)
        return
    scores = [_scores(reference_backend, part, drl_config) for part in (drl_rollout, *drl_search)]
    try:
        _fidelity(request, reference_backend, drl_rollout, drl_search, drl_config, drl_verdicts, tmp_path_factory,
                  scores=scores)
    finally:
        _sweep(request, reference_backend, drl_rollout, drl_search, scores, drl_config)


def test_reward_fidelity(request, reward_backend, drl_rollout, drl_config, drl_verdicts, tmp_path_factory):
    """Each backend's reward agrees with the env's truth on the rollout and the searched states."""
    if not drl_config.truth_key:
        pytest.skip("no truth key: set drl_truth_key to the info key holding the env's ground truth (e.g. true_goal)")
    searches = _searches(request, drl_rollout, drl_config)
    if _dense(reward_backend):
        _score_fidelity(reward_backend, drl_rollout, searches, drl_config, drl_verdicts)
        return
    _fidelity(request, reward_backend, drl_rollout, searches, drl_config, drl_verdicts, tmp_path_factory)


