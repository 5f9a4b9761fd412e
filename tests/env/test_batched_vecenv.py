"""BatchedRewardVecEnv: N envs, one reward-backend call per step, same results as N envs stepped alone."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import CountingBackend

from panda_env.envs import task
from panda_env.envs.batched import BatchedRewardVecEnv
from panda_env.envs.hover import PandaHoverEnv
from panda_env.envs.task import MAX_MOVE
from pytest_drlreward.checks import VecEnvMismatchError, assert_vecenv_matches

N = 4
INFO_KEYS = ("is_goal", "true_goal", "action_taken")


def _actions(rng: np.random.Generator, obs: np.ndarray, object_xy: np.ndarray) -> np.ndarray:
    """Noisy moves towards the object: episodes end both by reaching the goal and by the step limit."""
    noise = rng.normal(0.0, 0.06, size=obs.shape)
    return np.clip(object_xy - obs + noise, -MAX_MOVE, MAX_MOVE).astype(np.float32)


@pytest.fixture(scope="module")
def openvino_backend():
    from panda_env.reward import load_backend

    return load_backend("openvino")


@pytest.mark.parametrize("backend", ["oracle", "openvino"])
def test_matches_separate_envs_across_auto_resets(backend):
    """Same seeds, same actions: same obs, rewards, dones and infos as N envs stepped one by one
    (``assert_vecenv_matches``, across auto-resets and their terminal observations; goal probabilities
    from one batched backend call may differ from single-image calls in the last float digits)."""
    vec = BatchedRewardVecEnv(N, backend)
    env_fns = [lambda: PandaHoverEnv(reward_backend=backend, max_episode_steps=10)] * N
    rng = np.random.default_rng(0)
    object_xy = np.asarray(task.OBJECT_POSITION[:2])
    try:
        report = assert_vecenv_matches(vec, env_fns, seeds=(3, 101), actions=lambda obs: _actions(rng, obs, object_xy),
                                       n_steps=14, info_atol=1e-5, info_keys=(*INFO_KEYS, "goal_probability"))
    finally:
        vec.close()
    assert report.episode_ends >= N and report.terminations >= 1, report


def test_a_vec_env_that_mixes_up_its_envs_fails_the_check():
    """The check above can fail: a VecEnv that reports each env's results under another env's index."""

    class Rolled(BatchedRewardVecEnv):
        def step_wait(self):
            obs, rewards, dones, infos = super().step_wait()
            return np.roll(obs, 1, axis=0), np.roll(rewards, 1), np.roll(dones, 1), infos[-1:] + infos[:-1]

    vec = Rolled(N, "oracle")
    try:
        with pytest.raises(VecEnvMismatchError, match="seed 3, step 0, env 0: observation differs"):
            assert_vecenv_matches(vec, [lambda: PandaHoverEnv(max_episode_steps=10)] * N, seeds=(3,), n_steps=3)
    finally:
        vec.close()


def test_auto_reset_puts_terminal_observation_in_info():
    vec = BatchedRewardVecEnv(2, "oracle", max_episode_steps=3)
    try:
        vec.seed(7)
        vec.reset()
        for _ in range(3):
            obs, _, dones, infos = vec.step(np.zeros((2, 2), dtype=np.float32))
        assert dones.all()
        for i in range(2):
            assert infos[i]["TimeLimit.truncated"] is True
            terminal = infos[i]["terminal_observation"]
            assert terminal.shape == (2,) and terminal.dtype == np.float32
            # The returned observation is the new episode's start; the terminal one is where it ended.
            assert not np.array_equal(obs[i], terminal)
    finally:
        vec.close()


def test_one_backend_call_per_step_on_the_whole_batch(openvino_backend):
    counting = CountingBackend(openvino_backend)
    vec = BatchedRewardVecEnv(N, counting)
    try:
        vec.seed(0)
        vec.reset()
        steps = 12  # crosses the 10-step limit: auto-resets add no call
        for _ in range(steps):
            vec.step(np.stack([vec.action_space.sample() for _ in range(N)]))
        assert counting.batches == [N] * steps
        assert vec.reward_timer.calls == steps and vec.reward_timer.total_s > 0
        assert vec.timers["render"].calls == N * steps and vec.timers["physics"].calls > 0
        assert vec.get_attr("reward_backend") == ["openvino"] * N
    finally:
        vec.close()


def test_oracle_makes_no_backend_call_and_renders_nothing():
    vec = BatchedRewardVecEnv(2, "oracle")
    try:
        vec.reset()
        vec.step(np.zeros((2, 2), dtype=np.float32))
        assert vec.reward_timer.calls == 0 and vec.timers["render"].calls == 0
    finally:
        vec.close()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_envs"):
        BatchedRewardVecEnv(0)
    with pytest.raises(ValueError, match="unknown reward_backend"):
        BatchedRewardVecEnv(2, "tensorrt")
    with pytest.raises(ValueError, match="judge"):
        BatchedRewardVecEnv(2, "oracle", judge=None)
    vec = BatchedRewardVecEnv(2, "oracle")
    try:
        vec.reset()
        with pytest.raises(ValueError, match="one action per env"):
            vec.step(np.zeros((3, 2), dtype=np.float32))
    finally:
        vec.close()


def test_sac_trains_through_the_batched_env():
    from panda_env.training.sac import train

    report = train("openvino", steps=200, n_envs=4, eval_episodes=1)
    assert report.steps >= 200 and report.reward_calls == report.steps // 4  # one backend call per 4 env steps
    assert report.physics_s > 0 and report.render_s > 0 and report.reward_s > 0
    assert report.evaluation["episodes"] == 1


def test_cli_train_accepts_n_envs():
    from panda_env.cli import build_parser

    assert build_parser().parse_args(["train"]).n_envs is None  # the profile's (train's n_envs=None)
    assert build_parser().parse_args(["train", "--n-envs", "4"]).n_envs == 4
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--n-envs", "0"])


class AlwaysGoal:
    """A classifier that calls every image the goal: each of its goals away from the object is a false goal."""

    name, goal_index, seen = "always-goal", 1, None

    def logits(self, images):
        self.seen = np.array(images)
        return np.tile(np.array([[-10.0, 10.0]], dtype=np.float32), (len(images), 1))


def test_a_false_goal_carries_the_image_it_was_judged_on_for_the_reward_audit():
    """Batched training audits through infos: a false goal's info holds the image the classifier saw, so the
    audit keeps it as it does behind the single env's RewardAudit wrapper; a true goal's info holds none."""
    from stable_baselines3 import SAC

    from pytest_drlreward.audit.callback import RewardAuditCallback
    from pytest_drlreward.audit.frames import IMAGE, VIEWS_KEY

    classifier = AlwaysGoal()
    vec = BatchedRewardVecEnv(2, classifier, max_episode_steps=10)
    try:
        vec.seed(0)
        vec.reset()
        _, _, dones, infos = vec.step(np.zeros((2, 2), dtype=np.float32))  # no move: the start is not the goal
        assert dones.all() and not any(info["true_goal"] for info in infos)
        images = classifier.seen
        assert images.shape == (2, *vec.envs[0].unwrapped.scene_config.image_shape)
        for info, image in zip(infos, images):
            np.testing.assert_array_equal(info[VIEWS_KEY][IMAGE], image)
        callback = RewardAuditCallback(window_steps=10)
        SAC("MlpPolicy", vec, learning_starts=1000, seed=0).learn(10, callback=callback)
        kept = callback.auditor.keeper.cases
        assert kept and all(case.inputs[IMAGE].shape == images[0].shape for case in kept)
    finally:
        vec.close()

    oracle = BatchedRewardVecEnv(2, "oracle")
    try:
        oracle.reset()
        assert not any(VIEWS_KEY in info for info in oracle.step(np.zeros((2, 2), dtype=np.float32))[3])
    finally:
        oracle.close()


def test_envs_do_their_reward_backends_one_time_work_when_made_not_in_their_first_step():
    """OpenVINO compiles a static shape per batch size on first use (about 60 ms): the env and the batched env
    warm their backend up for their batch size when made, untimed, so training's first step does not pay it."""
    from panda_env.training.runs import make_batched_env, make_env

    vec, env = make_batched_env("openvino", 3), make_env("openvino")
    try:
        for made, batch in ((vec, 3), (env, 1)):
            backend = made.judge.backend
            assert backend._static[(batch, *backend.model_dir.image_shape)] is not None
            assert made.reward_timer.calls == 0  # the warm-up is not a reward call
    finally:
        vec.close()
        env.close()
