"""``RewardAuditCallback``: the audit as a stable-baselines3 callback (this module imports stable-baselines3).

It reads every env's step ``info`` through SB3's ``infos`` (any VecEnv, subprocesses included), counts as
:class:`~pytest_drlreward.audit.wrapper.RewardAudit` does with ``num_timesteps`` as the training step, logs
``audit/learned_success``, ``audit/true_success`` and ``audit/false_goal_share`` (the last window's) to
SB3's logger at each window's end, so TensorBoard shows the gap, and with ``stop_on_exploitation`` saves
the agent and stops training at the onset. A false goal keeps the step's observation (the terminal one
when the episode ended) and what the classifier saw: from ``info["reward_audit_views"]`` when each env is
wrapped in ``RewardAudit(env, share_views=True)`` (the one way to get the image of a step that ended its
episode: a VecEnv resets the env before the callback runs), else, with a DummyVecEnv, from the env's
camera when the episode goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from pytest_drlreward.audit.auditor import DECISION_KEY, PROBABILITY_KEY, TRUTH_KEY, Audited, Auditor
from pytest_drlreward.audit.frames import DEFAULT_KEEP, OBSERVATION, VIEWS_KEY, env_views
from pytest_drlreward.audit.tally import DEFAULT_MAX_SHARE, DEFAULT_MIN_FALSE_GOALS, DEFAULT_WINDOW_STEPS

AGENT_FILE = "agent_at_onset.zip"
AUDIT_DIR = "audit"


def _item(batch: Any, index: int) -> Any:
    """Env ``index``'s entry of a VecEnv's batched observation (an array or a dict of arrays), or None."""
    if batch is None:
        return None
    if isinstance(batch, dict):
        return {key: np.array(value[index]) for key, value in batch.items()}
    return batch[index]


class RewardAuditCallback(Audited, BaseCallback):
    """Audit the learned reward against the truth while SB3 trains (see the module docstring).

    The keys and the onset rule are :class:`~pytest_drlreward.audit.wrapper.RewardAudit`'s. ``save_dir``:
    the audit is written into ``save_dir/audit/`` when training ends and, with ``stop_on_exploitation``,
    the agent at the onset to ``save_dir/agent_at_onset.zip``.
    """

    def __init__(self, *, decision_key: str = DECISION_KEY, truth_key: str = TRUTH_KEY,
                 probability_key: str | None = PROBABILITY_KEY, score_threshold: float | None = None,
                 truth_threshold: float | None = None, window_steps: int = DEFAULT_WINDOW_STEPS,
                 max_share: float = DEFAULT_MAX_SHARE, min_false_goals: int = DEFAULT_MIN_FALSE_GOALS,
                 keep: int = DEFAULT_KEEP, stop_on_exploitation: bool = False, save_dir: str | Path | None = None,
                 verbose: int = 0) -> None:
        super().__init__(verbose)
        self.auditor = Auditor(decision_key=decision_key, truth_key=truth_key, probability_key=probability_key,
                               score_threshold=score_threshold, truth_threshold=truth_threshold,
                               window_steps=window_steps, max_share=max_share, min_false_goals=min_false_goals,
                               keep=keep)
        self.stop_on_exploitation = stop_on_exploitation
        self.save_dir = None if save_dir is None else Path(save_dir)
        self.agent_path: Path | None = None
        self._episode_steps: np.ndarray | None = None
        self._logged = 0

    def _on_training_start(self) -> None:
        self._episode_steps = np.zeros(self.training_env.num_envs, dtype=np.int64)

    def _views(self, index: int, done: bool, info: dict) -> Any:
        def views() -> dict[str, Any]:
            shared = info.get(VIEWS_KEY)
            found: dict[str, Any] = dict(shared) if isinstance(shared, dict) else {}
            envs = getattr(self.training_env, "envs", None)
            if not found and not done and envs is not None:
                found.update({k: v for k, v in env_views(envs[index]).items() if not k.startswith(OBSERVATION)})
            if OBSERVATION not in found:
                obs = info.get("terminal_observation") if done else _item(self.locals.get("new_obs"), index)
                if obs is not None:
                    found[OBSERVATION] = np.array(obs) if not isinstance(obs, dict) else obs
            return found

        return views

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        onset = False
        for index, (info, done) in enumerate(zip(infos, dones)):
            self._episode_steps[index] += 1
            onset |= self.auditor.observe(self.num_timesteps, info, bool(done), slot=index,
                                          views=self._views(index, bool(done), info),
                                          episode_step=int(self._episode_steps[index]))
            if done:
                self._episode_steps[index] = 0
        self._log_windows()
        if onset and self.stop_on_exploitation:
            if self.save_dir is not None:
                from pytest_drlreward.util.atomic import atomic_file

                self.save_dir.mkdir(parents=True, exist_ok=True)
                self.agent_path = self.save_dir / AGENT_FILE
                with atomic_file(self.agent_path) as tmp:
                    self.model.save(tmp)
            return False
        return True

    def _log_windows(self) -> None:
        """Record each finished window's success rates once, for SB3's logger (written at its next dump)."""
        windows = self.auditor.tally.windows
        finished = len(windows) - (0 if windows and self.num_timesteps >= windows[-1].end else 1)
        for window in windows[self._logged:finished]:
            counts = window.counts
            for name, value in (("learned_success", counts.learned_success), ("true_success", counts.true_success),
                                ("false_goal_share", counts.false_goal_share)):
                if value.trials:
                    self.logger.record(f"audit/{name}", value.value)
        self._logged = max(self._logged, finished)

    def _on_training_end(self) -> None:
        if self.save_dir is not None:
            self.auditor.save(self.save_dir / AUDIT_DIR)
