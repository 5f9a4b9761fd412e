"""``panda_env train`` audits its run: ``report.json`` carries the audit, ``RUN/audit/`` its files, the learning
curve learned beside true success, and a run that exploits its reward says so in its last lines."""

from __future__ import annotations

import json

import pytest
from audit_envs import ScriptedEnv

from pytest_drlreward.audit import RewardAudit

pytest.importorskip("stable_baselines3")
pytest.importorskip("pybullet")


def audit_of(script, steps: int) -> dict:
    env = RewardAudit(ScriptedEnv(script), window_steps=10)
    env.reset(seed=0)
    for _ in range(steps):
        if any(env.step(0)[2:4]):
            env.reset()
    return env.report().as_dict()


def test_an_exploiting_run_says_so_in_its_last_lines():
    from panda_env.training.reward_audit import audit_lines

    lines = audit_lines(audit_of([(False, False), (True, False)], 40))
    assert lines[0].startswith("  EXPLOITED REWARD: from step 1 the agent reaches states the classifier calls goal "
                               "and the simulator does not: 5 of 5 learned successes in steps 1-10")
    assert "20 false goals" in lines[1]
    quiet = audit_lines(audit_of([(False, False), (True, True)], 40))
    assert quiet == ["  reward audit: no exploitation of the learned reward (20 learned successes, 20 true, 0 false "
                     "goals, 0 missed goals over 40 steps)"]
    assert audit_lines({}) == []


def test_the_run_directory_and_report_carry_the_audit(earlier_run):
    report = json.loads((earlier_run / "report.json").read_text())
    audit = report["audit"]
    assert audit["counts"]["steps"] == report["steps"] == 64 and audit["onset_step"] is None
    assert audit["decision"] == "info['is_goal'] vs info['true_goal']"
    assert audit["saved"] == str(earlier_run / "audit") and (earlier_run / "audit" / "audit.json").is_file()


def test_the_learning_curve_draws_learned_beside_true_success(tmp_path):
    pytest.importorskip("matplotlib")
    from panda_env.training.plots import learning_curve_png

    audit = audit_of([(False, False), (True, False), (True, True)], 60)
    path = learning_curve_png([], tmp_path / "curve.png", audit=audit)
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_goal_radius_reaches_the_env_and_a_bad_one_is_refused(capsys):
    from panda_env.cli import main
    from panda_env.training.runs import make_env

    env = make_env("oracle", goal_radius=0.03)
    try:
        assert env.goal_radius == 0.03
    finally:
        env.close()
    with pytest.raises(SystemExit):
        main(["train", "--goal-radius", "0.2"])
    assert "0.2 is outside (0, 0.1] metres" in capsys.readouterr().err
