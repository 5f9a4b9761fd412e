"""Deployed-path parity: the reward the env computes is the verified classifier directory's decision on each
step's own inputs.

The other checks verify the exported model. This one steps the env and compares, step by step, what the env
itself reports (``info['is_goal']``, ``info['goal_probability']``, or the keys the user names) with the
directory's one decision rule applied by a backend (the reference) to the inputs the env supplies after that
step (:func:`~pytest_drlreward.env.inputs.env_inputs`, or the camera image). A BGR/RGB swap, normalisation
applied twice, a frame rendered before the move or a broken reward wrapper all show here and nowhere else.
Decisions must be equal; probabilities within ``atol``. An env that reports neither key, or that rewards with
its own truth instead of a learned model, is NOT VERIFIED (:class:`~pytest_drlreward.errors.NotVerifiedError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_drlreward.checks._format import CheckError, backend_name, fmt
from pytest_drlreward.checks.decisions import decide
from pytest_drlreward.checks.deployed_causes import likely_cause
from pytest_drlreward.checks.deployed_settings import DEFAULT_DEPLOYED_ATOL, DEFAULT_DEPLOYED_STEPS
from pytest_drlreward.checks.parity import DEFAULT_BATCH
from pytest_drlreward.checks.rollout import NoImageSourceError, Rollout, collect_rollout
from pytest_drlreward.env.policies import Policy
from pytest_drlreward.errors import NotVerifiedError

MAX_CASES = 3
CAUSES = (
    "preprocessing: the env prepares the inputs otherwise than the exported model expects (resize, crop, dtype, layout)",
    "colour order: BGR where the model takes RGB, or the reverse",
    "normalisation applied twice (once by the env's wrapper, once inside the exported graph)",
    "a stale frame: the image judged was rendered before the move, not after it",
    "a broken wrapper or reward function: another model file, a swallowed exception, a cached result",
)
KEYS_FIX = ("report the reward's decision in info['is_goal'] and its probability in info['goal_probability'], or "
            "name the keys the env uses: drl_deployed_keys = decision = KEY, probability = KEY")


class DeployedRewardError(CheckError):
    """The reward the env computes differs from the classifier directory's decision; ``report`` holds the numbers."""


def _action_text(action: Any) -> str:
    """One action on one line, each float written shortest-exact for its dtype (so it replays bit for bit)."""
    array = np.asarray(action)
    if array.dtype.kind not in "biuf":
        return repr(action)
    if array.ndim:
        return "[" + ", ".join(_action_text(item) for item in array) + "]"
    value = array[()]
    return np.format_float_positional(value, unique=True, trim="-") if array.dtype.kind == "f" else str(value)


def _actions_text(actions: tuple[Any, ...]) -> str:
    return "[" + ", ".join(_action_text(action) for action in actions) + "]"


@dataclass(frozen=True)
class DeployedStep:
    """One step where the env and the directory disagree, with what replays it."""

    index: int
    episode: int
    seed: int
    step: int  # in its episode, from 0
    actions: str  # the episode's actions up to this step, on one line
    env_decision: bool | None
    env_probability: float | None
    decision: bool | None
    probability: float

    def __str__(self) -> str:
        def said(goal: bool | None, p: float | None) -> str:
            parts = ([("goal" if goal else "no goal")] if goal is not None else []) + ([f"p={p:.4g}"] if p is not None else [])
            return " ".join(parts)

        return (f"step {self.index} (episode {self.episode}, reset seed {self.seed}, step {self.step + 1} of it; actions "
                f"since reset {self.actions}): the env says {said(self.env_decision, self.env_probability)}, the "
                f"directory says {said(self.decision, self.probability)}")


@dataclass(frozen=True)
class DeployedReport:
    """The env's reported reward against ``backend``'s decision by ``rule`` on ``steps`` steps."""

    backend: str
    rule: str
    keys: str  # what the env reported, e.g. "info['is_goal'], info['goal_probability']"
    steps: int
    mismatches: int
    cases: tuple[DeployedStep, ...]
    max_probability_diff: float
    atol: float
    cause: str | None = None

    @property
    def passed(self) -> bool:
        return self.mismatches == 0

    def __str__(self) -> str:
        diff = f"; max |p diff| {fmt(self.max_probability_diff)} (atol {fmt(self.atol)})" if self.max_probability_diff >= 0 else ""
        if self.passed:
            return (f"deployed reward: the env's {self.keys} matched {self.backend}'s decision ({self.rule}) on each "
                    f"step's own inputs at all {self.steps} steps{diff}")
        first = self.cases[0]
        cause = f"; likely cause: {self.cause.split(':')[0]}" if self.cause else ""
        return (f"deployed reward: the env's {self.keys} differ from {self.backend}'s decision ({self.rule}) at "
                f"{self.mismatches} of {self.steps} steps, first at step {first.index} (reset seed {first.seed}, step "
                f"{first.step + 1} of its episode){cause}{diff}")


def _env_column(values: np.ndarray | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values)


def _oracle(rollout: Rollout, decisions: np.ndarray | None, probabilities: np.ndarray | None, differs: bool) -> bool:
    """Whether the env's reported reward is its own truth (an oracle), not a learned model's: its decisions are the
    truth at every step and its probabilities only 0 or 1 (without probabilities: and the directory differs)."""
    if rollout.truth is None or decisions is None or not np.array_equal(decisions.astype(bool), rollout.truth):
        return False
    return differs if probabilities is None else bool(np.isin(probabilities, (0.0, 1.0)).all())


def deployed_report(rollout: Rollout, backend: Any, *, atol: float = DEFAULT_DEPLOYED_ATOL,
                    decision_key: str | None = "is_goal", probability_key: str | None = "goal_probability",
                    batch_size: int | None = DEFAULT_BATCH) -> DeployedReport:
    """Compare the env's reward recorded in ``rollout`` (its ``decisions``/``probabilities``, collected from
    ``decision_key``/``probability_key``) with ``backend``'s decisions on the rollout's inputs.

    Raises :class:`NotVerifiedError` when the env reported neither, or when it rewards with its ground truth (no
    model deployed): its decisions are ``rollout.truth`` at every step, and its probabilities only 0 or 1 (without
    probabilities: and the directory differs somewhere).
    """
    decisions, probabilities = _env_column(rollout.decisions), _env_column(rollout.probabilities)
    if decisions is None and probabilities is None:
        named = " or ".join(f"info[{key!r}]" for key in (decision_key, probability_key) if key) or "no info key"
        raise NotVerifiedError("deployed", f"the env reports its reward in {named} at no step (its info has "
                                           f"{list(rollout.info_keys)}): nothing to compare", KEYS_FIX)
    if rollout.images is None:
        raise ValueError("the rollout kept no inputs (collect it with images=True)")
    decided = decide(backend, rollout.images, batch_size)
    if not decided.rule.decides:
        decisions = None  # a dense score decides nothing: only its value is compared
    if decisions is None and probabilities is None:
        raise NotVerifiedError("deployed", f"the directory's rule ({decided.rule}) makes no decision to compare with "
                                           f"info[{decision_key!r}]", KEYS_FIX)
    wrong = np.zeros(len(rollout), dtype=bool)
    if decisions is not None:
        wrong |= decisions.astype(bool) != decided.goal
    diff = -1.0
    if probabilities is not None:
        gap = np.abs(probabilities.astype(np.float64) - decided.probability)
        wrong |= ~(gap <= atol)  # NaN is wrong
        diff = float(np.max(np.where(np.isnan(gap), np.inf, gap), initial=0.0))
    keys = ", ".join(f"info[{key!r}]" for key, column in ((decision_key, decisions), (probability_key, probabilities))
                     if column is not None)
    rows = np.flatnonzero(wrong)
    if _oracle(rollout, decisions, probabilities, len(rows) > 0):
        raise NotVerifiedError(
            "deployed", f"the env's {keys} are its truth info[{rollout.truth_key!r}] at all {len(rollout)} steps (the "
                        f"directory, {decided.rule}, differs at {len(rows)}): the env rewards with its ground truth, not "
                        f"with a learned model", "build the env with its learned reward: drl_deployed_env_kwargs "
                                                 "(e.g. reward_backend = onnxruntime)")
    cases = tuple(DeployedStep(
        int(i), int(rollout.episode_seeds[i]) - rollout.seed, int(rollout.episode_seeds[i]), int(rollout.episode_steps[i]),
        _actions_text(rollout.episode_actions(int(i))) if rollout.actions else "not recorded",
        None if decisions is None else bool(decisions[i]), None if probabilities is None else float(probabilities[i]),
        bool(decided.goal[i]) if decided.rule.decides else None, float(decided.probability[i])) for i in rows[:MAX_CASES])
    cause = likely_cause(backend, rollout, rows, decisions, probabilities, atol, batch_size) if len(rows) else None
    return DeployedReport(backend_name(backend), str(decided.rule), keys, len(rollout), len(rows), cases, diff, float(atol),
                          cause)


def _message(report: DeployedReport) -> str:
    listed = "\n".join(f"    {case}" for case in report.cases)
    more = f"\n    (+{report.mismatches - len(report.cases)} more)" if report.mismatches > len(report.cases) else ""
    cause = f"\n  likely cause: {report.cause}" if report.cause else ""
    causes = "\n".join(f"    - {cause}" for cause in CAUSES)
    return (f"the reward the env computes is not the classifier directory's decision: the env's {report.keys} differ "
            f"from {report.backend}'s ({report.rule}) on each step's own inputs at {report.mismatches} of {report.steps} "
            f"steps (required: equal decisions, probabilities within {fmt(report.atol)}); first:\n{listed}{more}{cause}\n"
            f"  usual causes:\n{causes}")


def assert_deployed_reward_matches(
    env_or_rollout: Any,
    backend: Any,
    *,
    n_steps: int = DEFAULT_DEPLOYED_STEPS,
    seed: int = 0,
    policy: Policy | None = None,
    decision_key: str | None = "is_goal",
    probability_key: str | None = "goal_probability",
    truth_key: str | None = "true_goal",
    input_keys: Mapping[str, str] | None = None,
    atol: float = DEFAULT_DEPLOYED_ATOL,
    batch_size: int | None = DEFAULT_BATCH,
) -> DeployedReport:
    """Assert the reward an env computes equals ``backend``'s decision (the directory's rule) on each step's inputs.

    ``env_or_rollout``: an env, stepped ``n_steps`` times from ``reset(seed=seed)`` by ``policy`` (default:
    seeded random actions), its inputs found as the decision parity's are (``backend.inputs``, ``input_keys``),
    or a :class:`Rollout` collected with ``decision_key``/``probability_key``. The env's ``info[decision_key]``
    must equal the decision and ``info[probability_key]`` be within ``atol`` of the goal probability.
    Raises :class:`DeployedRewardError` naming the first steps that differ (episode, reset seed, actions, both
    values), the likely cause when one explains them all, and the usual causes; :class:`NotVerifiedError`
    when the env reports neither key, shows no inputs, or rewards with its truth (``info[truth_key]``).
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    if isinstance(env_or_rollout, Rollout):
        rollout = env_or_rollout
    else:
        try:
            rollout = collect_rollout(env_or_rollout, n_steps, seed=seed, policy=policy, truth_key=truth_key,
                                      decision_key=decision_key, probability_key=probability_key,
                                      inputs=getattr(backend, "inputs", None), input_keys=input_keys, dense_truth=True)
        except NoImageSourceError as error:
            raise NotVerifiedError("deployed", str(error), "give the env a camera_image() method or build it with "
                                                           "render_mode='rgb_array'") from None
    report = deployed_report(rollout, backend, atol=atol, decision_key=decision_key, probability_key=probability_key,
                             batch_size=batch_size)
    if not report.passed:
        raise DeployedRewardError(_message(report), report)
    return report
