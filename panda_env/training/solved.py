"""Train until solved: a stable-baselines3 callback that evaluates the policy every ``every`` steps and
stops training once it solves the task.

A check runs ``episodes`` deterministic episodes on a fresh oracle env (episodes end on the simulator's
truth, seeds fixed across checks) and stops training when the true-goal success reaches ``target``.
Its time is measured apart, so the training time to a solved policy excludes the checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from stable_baselines3.common.callbacks import BaseCallback

from panda_env.training.evaluate import evaluate_policy_success
from pytest_drlreward.util.validation import check_int

CHECK_SEED = 50_000  # check episodes use seeds CHECK_SEED.. (the final evaluation uses others)


@dataclass
class SolvedRule:
    """When to check and what counts as solved."""

    target: float = 0.9
    every: int = 100
    episodes: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.target <= 1:
            raise ValueError(f"target success must be in (0, 1], got {self.target!r}")
        for name in ("every", "episodes"):
            check_int(getattr(self, name), name)


@dataclass
class SolvedRecord:
    """What the checks found: ``steps_to_solve`` is None when the step cap came first."""

    rule: SolvedRule
    checks: list[dict] = field(default_factory=list)  # {"step", "success_rate"}
    steps_to_solve: int | None = None
    check_s: float = 0.0


class UntilSolved(BaseCallback):
    """Stops ``learn`` when a check's true-goal success reaches the rule's target."""

    def __init__(self, rule: SolvedRule, profile: str = "fast", evaluate=None) -> None:
        super().__init__(verbose=0)
        self.record = SolvedRecord(rule)
        self._profile, self._evaluate = profile, evaluate or evaluate_policy_success
        self._next = rule.every

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next += self.record.rule.every
        start = time.perf_counter()
        result = self._evaluate(self.model, self.record.rule.episodes, seed=CHECK_SEED, profile=self._profile)
        self.record.check_s += time.perf_counter() - start
        self.record.checks.append({"step": self.num_timesteps, "success_rate": result.success_rate})
        if result.success_rate >= self.record.rule.target:
            self.record.steps_to_solve = self.num_timesteps
            return False
        return True
