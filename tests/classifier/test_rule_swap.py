"""One decision rule, read by every consumer: swap the rule in a classifier directory's metadata and the
env's reward, the batched VecEnv and reward fidelity all follow it (issue 19's acceptance)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_drlreward.classifier import METADATA_FILE

pytest.importorskip("pybullet")
pytest.importorskip("onnxruntime")


def _swap_rule(model_dir, decision: dict) -> None:
    metadata = json.loads((model_dir / METADATA_FILE).read_text())
    metadata["decision"] = decision
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2))  # metadata is not in 'files'


def _approach(env, steps: int = 8):
    """Steps straight at the object (the shipped classifier's decision changes on the way)."""
    env.reset(seed=5)
    for _ in range(steps):
        action = np.clip(env.unwrapped.object_xy - env.unwrapped._observation(), -0.1, 0.1).astype(np.float32)
        yield action, env.step(action)


def test_swapping_the_rule_in_the_metadata_changes_the_env_the_vecenv_and_fidelity(model_copy):
    from panda_env.envs.batched import BatchedRewardVecEnv
    from panda_env.envs.hover import PandaHoverEnv
    from pytest_drlreward.backends import load_backend
    from pytest_drlreward.checks import assert_reward_fidelity, collect_rollout

    rollout = collect_rollout(PandaHoverEnv(reward_backend="oracle"), 300, seed=0)
    shipped = load_backend("onnxruntime", model_copy)
    probability = shipped.goal_probability(rollout.images)
    below = np.unique(probability[(probability < 0.5) & (probability > 0)])
    assert len(below) >= 2, "the rollout has too few non-goal states"
    threshold = float(np.sqrt(below[-2] * below[-1]))  # a lenient softmax bar: the most goal-like non-goal is goal
    argmax_goal = shipped.predict_goal(rollout.images)
    _swap_rule(model_copy, {"kind": "softmax", "goal_index": 1, "threshold": threshold})
    backend = load_backend("onnxruntime", model_copy)
    assert str(backend.decision) == f"softmax[1] > {threshold:g}"
    expected = backend.predict_goal(rollout.images)
    np.testing.assert_array_equal(expected, probability > threshold)
    assert np.sum(expected & ~argmax_goal) >= 1 and not np.any(argmax_goal & ~expected)
    env = PandaHoverEnv(reward_backend="onnxruntime", model_dir=model_copy, max_episode_steps=20)
    vec = BatchedRewardVecEnv(2, "onnxruntime", model_dir=model_copy)
    try:
        for _action, (_, reward, terminated, _, info) in _approach(env):
            logits = backend.logits(env.camera_image()[None])
            softmax_goal = float(np.exp(logits[0, 1]) / np.exp(logits[0]).sum())
            assert info["goal_probability"] == pytest.approx(softmax_goal, abs=1e-6)
            assert info["is_goal"] == (softmax_goal > threshold)
            assert reward == (100.0 if softmax_goal > threshold else reward)
            if terminated:
                break
        vec.seed(5)
        vec.reset()
        for _ in range(6):
            actions = np.stack([np.clip(e.object_xy - e._observation(), -0.1, 0.1) for e in vec.envs]).astype(np.float32)
            _, _, _, infos = vec.step(actions)
            for e, info in zip(vec.envs, infos):
                if "terminal_observation" in info:
                    continue  # reset since: its image is another state's
                probability = backend.goal_probability(e.camera_image()[None])[0]
                assert info["is_goal"] == (probability > threshold)
                assert info["goal_probability"] == pytest.approx(probability, abs=1e-6)
        report = assert_reward_fidelity(rollout, backend, min_recall=0.0, max_false_goal_rate=1.0, min_goals=0)
        shipped_report = assert_reward_fidelity(rollout, shipped, min_recall=0.0, max_false_goal_rate=1.0, min_goals=0)
        assert report.recall.successes == int(np.sum(expected & rollout.truth))
        assert report.false_goal_rate.successes == int(np.sum(expected & ~rollout.truth))
        assert (report.recall.successes, report.false_goal_rate.successes) == (
            int(np.sum(expected & rollout.truth)), int(np.sum(expected & ~rollout.truth)))
        assert report.agreement.successes != shipped_report.agreement.successes
    finally:
        env.close()
        vec.close()


def test_a_rule_naming_a_column_the_output_lacks_is_refused_naming_the_file(model_copy):
    from pytest_drlreward.classifier import ModelDirError, open_model_dir

    _swap_rule(model_copy, {"kind": "argmax", "goal_index": 2})
    with pytest.raises(ModelDirError, match=r"metadata.json: decision.goal_index 2 is not a column of the output"):
        open_model_dir(model_copy)
