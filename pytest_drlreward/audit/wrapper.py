"""``RewardAudit``: a Gymnasium wrapper that audits an env's learned reward against its truth while any trainer
steps it. It changes nothing the trainer sees (observations and rewards pass through untouched; infos too
unless ``share_views``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from pytest_drlreward.audit.auditor import DECISION_KEY, PROBABILITY_KEY, TRUTH_KEY, Audited, Auditor
from pytest_drlreward.audit.frames import DEFAULT_KEEP, VIEWS_KEY, env_views
from pytest_drlreward.audit.report import AuditReport
from pytest_drlreward.audit.tally import DEFAULT_MAX_SHARE, DEFAULT_MIN_FALSE_GOALS, DEFAULT_WINDOW_STEPS


class RewardAudit(Audited, gym.Wrapper):
    """Count, step by step, what the env's learned reward decided (``info[decision_key]``) against its truth
    (``info[truth_key]``), per window of ``window_steps`` steps and per episode, with 95% Wilson intervals;
    name the onset of exploitation (the first window whose false-goal share among learned successes is
    above ``max_share`` with 95% confidence, with at least ``min_false_goals`` false goals); keep up to
    ``keep`` false goals (what the classifier saw, the observation, step and seed).

    ``RewardAudit(env)`` needs nothing else for an env reporting ``is_goal``, ``true_goal`` and
    ``goal_probability``. A dense learned score against a dense truth: ``score_threshold`` (a success is
    ``info[probability_key] >= score_threshold``) and ``truth_threshold`` (``info[truth_key] >=
    truth_threshold``). ``report()`` gives the :class:`AuditReport`; ``save(directory)`` writes it with the
    false goals (``audit.json``, ``false_goals.npz``, ``audit.png``). A step whose info lacks a key raises
    :class:`~pytest_drlreward.audit.auditor.AuditKeyError` naming the keys the env has. ``share_views``:
    at a false goal, also put what the classifier saw into ``info["reward_audit_views"]`` (for
    :class:`~pytest_drlreward.audit.callback.RewardAuditCallback` behind a VecEnv); otherwise the infos
    pass through untouched.
    """

    def __init__(self, env: gym.Env, *, decision_key: str = DECISION_KEY, truth_key: str = TRUTH_KEY,
                 probability_key: str | None = PROBABILITY_KEY, score_threshold: float | None = None,
                 truth_threshold: float | None = None, window_steps: int = DEFAULT_WINDOW_STEPS,
                 max_share: float = DEFAULT_MAX_SHARE, min_false_goals: int = DEFAULT_MIN_FALSE_GOALS,
                 keep: int = DEFAULT_KEEP, share_views: bool = False) -> None:
        super().__init__(env)
        self.share_views = share_views
        self.auditor = Auditor(decision_key=decision_key, truth_key=truth_key, probability_key=probability_key,
                               score_threshold=score_threshold, truth_threshold=truth_threshold,
                               window_steps=window_steps, max_share=max_share, min_false_goals=min_false_goals,
                               keep=keep)
        self.steps = 0
        self._seed: int | None = None
        self._episodes_since_seed = 0
        self._episode_step = 0
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._seed, self._episodes_since_seed = int(seed), 0
        elif self._started:
            self._episodes_since_seed += 1
        self._started, self._episode_step = True, 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        self._episode_step += 1
        grabbed: list[dict[str, Any]] = []

        def views() -> dict[str, Any]:  # called only at a false goal
            grabbed.append(env_views(self.env, obs))
            return grabbed[0]

        self.auditor.observe(self.steps, info, terminated or truncated, views=views, seed=self._seed,
                             episode=self._episodes_since_seed, episode_step=self._episode_step)
        if self.share_views and self.auditor.last_false_goal == self.steps:
            info = {**info, VIEWS_KEY: grabbed[0] if grabbed else env_views(self.env, obs)}
        return obs, reward, terminated, truncated, info

    def save(self, directory: str | Path, picture: bool = True) -> AuditReport:
        """Write the audit and its false goals into ``directory`` (replaced as a whole); the report with its paths."""
        return self.auditor.save(directory, picture)
