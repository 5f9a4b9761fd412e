"""The SB3 callback on a VecEnv of scripted envs (PPO, a few hundred steps: fast): the same counts as the wrapper,
``audit/*`` in SB3's logger, and ``stop_on_exploitation`` stopping at the onset with the agent saved."""

from __future__ import annotations

import pytest
from audit_envs import ScriptedEnv

pytest.importorskip("stable_baselines3")

FALSE_GOAL, TRUE_GOAL, NOTHING = (True, False), (True, True), (False, False)


def capture():
    """An SB3 output format keeping every dumped key-value (in ``.rows``)."""
    from stable_baselines3.common.logger import KVWriter

    class Capture(KVWriter):
        def __init__(self) -> None:
            self.rows: list[dict] = []

        def write(self, key_values, key_excluded, step=0) -> None:
            self.rows.append(dict(key_values))

    return Capture()


def ppo(script, n_envs: int = 2):
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    from pytest_drlreward.audit import RewardAudit

    venv = make_vec_env(lambda: RewardAudit(ScriptedEnv(script), share_views=True), n_envs=n_envs, seed=0)
    return PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, verbose=0)


def test_the_callback_counts_every_env_and_logs_the_gap():
    from stable_baselines3.common.logger import Logger

    from pytest_drlreward.audit import RewardAuditCallback

    agent = ppo([NOTHING, TRUE_GOAL, NOTHING, FALSE_GOAL] + [NOTHING] * 6)
    output = capture()
    agent.set_logger(Logger(folder=None, output_formats=[output]))
    callback = RewardAuditCallback(window_steps=64)
    agent.learn(256, callback=callback)
    report = callback.report()
    wrappers = [monitor.env for monitor in agent.get_env().envs]  # make_vec_env adds Monitor
    assert report.counts.steps == sum(env.report().counts.steps for env in wrappers) == 256
    assert report.counts.false_goals == sum(env.report().counts.false_goals for env in wrappers) > 0
    assert [(w.start, w.end) for w in report.windows] == [(1, 64), (65, 128), (129, 192), (193, 256)]
    logged = [row for row in output.rows if "audit/false_goal_share" in row]
    assert logged and logged[-1]["audit/learned_success"] > logged[-1]["audit/true_success"]
    assert report.false_goals_kept and report.onset_step == 1  # half the learned successes are false goals
    kept = callback.auditor.keeper.cases[0]
    assert set(kept.inputs) == {"image", "observation"}  # the image came through share_views


def test_stop_on_exploitation_stops_at_the_onset_and_saves_the_agent(tmp_path):
    from pytest_drlreward.audit import RewardAuditCallback

    agent = ppo([NOTHING, FALSE_GOAL])
    callback = RewardAuditCallback(window_steps=32, stop_on_exploitation=True, save_dir=tmp_path)
    agent.learn(2000, callback=callback)
    assert callback.onset_step == 1 and agent.num_timesteps < 2000
    assert callback.agent_path == tmp_path / "agent_at_onset.zip" and callback.agent_path.is_file()
    report = callback.report()
    assert report.saved == tmp_path / "audit" and (tmp_path / "audit" / "audit.json").is_file()
    assert "EXPLOITATION from step 1" in str(report)


def test_without_stop_the_training_goes_on():
    from pytest_drlreward.audit import RewardAuditCallback

    agent = ppo([NOTHING, FALSE_GOAL])
    callback = RewardAuditCallback(window_steps=32)
    agent.learn(128, callback=callback)
    assert callback.onset_step == 1 and agent.num_timesteps == 128
