"""Property-based (Hypothesis) tests of ``PandaHover-v0``'s step/reset contract.

Each test function builds its env(s) once and calls ``reset(seed=...)`` inside the property, so
every Hypothesis example starts a fresh episode on the same PyBullet client.
"""

from __future__ import annotations

import contextlib

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import TimeLimit
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import panda_env
from panda_env.envs import task

OBJECT_XY = np.asarray(task.OBJECT_POSITION[:2], dtype=np.float64)
LOW, HIGH = task.WORKSPACE_LOW, task.WORKSPACE_HIGH
# The arm reaches a commanded point within 0.5 mm, so decisions closer than this to a bound (or to
# the goal radius) may legitimately go either way and are not asserted.
MARGIN = 1e-3
MOVE_TOLERANCE = 2e-3
DEFAULT_LIMIT = 10

SETTINGS = settings(deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(min_value=0, max_value=2**32 - 1)
# st.floats(-0.1, 0.1, width=32) in spirit: Hypothesis >= 6.1xx wants bounds exactly representable
# in float32, i.e. the action space's own float32 bounds (0.1 rounds up by 1.5e-9, within the env's
# 1e-6 tolerance).
BOUND = float(np.float32(task.MAX_MOVE))
actions = arrays(np.float32, 2, elements=st.floats(-BOUND, BOUND, width=32))
# "toward" = a (clipped) step straight at the object, about one step in five, so that episodes
# also reach the goal (random actions alone almost never do).
TOWARD = "toward"
steps = st.lists(st.tuples(st.integers(0, 4), actions).map(lambda t: TOWARD if t[0] == 0 else t[1]),
                 min_size=1, max_size=15)
# 12 diagonal moves from seed 0's start: runs into the x bound (refused moves), truncated at step 10.
INTO_THE_WALL = [np.array([0.05, 0.05], dtype=np.float32)] * 12
# Seed 284 starts one clipped step from the object: nine no-op steps, then the goal on step 10.
GOAL_ON_STEP_TEN = [np.zeros(2, dtype=np.float32)] * 9 + [TOWARD]


@contextlib.contextmanager
def made_env(**kwargs):
    env = gym.make(panda_env.ENV_ID, **kwargs)
    try:
        yield env
    finally:
        env.close()


def resolve(step, obs: np.ndarray) -> np.ndarray:
    if isinstance(step, str):
        return np.clip(OBJECT_XY - obs, -task.MAX_MOVE, task.MAX_MOVE).astype(np.float32)
    return step


def signed_margin(xy: np.ndarray) -> float:
    """Distance to the nearest workspace bound: > 0 inside, < 0 outside."""
    return float(np.min(np.concatenate([xy - LOW, HIGH - xy])))


def check_obs(env, obs) -> None:
    assert isinstance(obs, np.ndarray)
    assert obs.dtype == np.float32 and obs.shape == (2,)
    assert env.observation_space.contains(obs), obs


def check_info(info: dict) -> None:
    assert set(info) == {"is_goal", "goal_probability", "true_goal", "action_taken"}, info
    assert type(info["is_goal"]) is bool
    assert type(info["true_goal"]) is bool
    assert type(info["action_taken"]) is bool
    assert type(info["goal_probability"]) is float
    assert 0.0 <= info["goal_probability"] <= 1.0


def run_episode(env, seed: int, plan: list, limit: int) -> None:
    """Play ``plan`` from ``reset(seed)`` and check every step against the contract."""
    obs, info = env.reset(seed=seed)
    check_obs(env, obs)
    check_info(info)
    assert not info["is_goal"] and not info["true_goal"]

    for number, step in enumerate(plan, start=1):
        action = resolve(step, obs)
        new_obs, reward, terminated, truncated, info = env.step(action)
        check_obs(env, new_obs)
        check_info(info)
        assert type(terminated) is bool and type(truncated) is bool

        # rewards and the goal
        assert reward in task.REWARDS, reward
        assert terminated == info["is_goal"]
        assert info["is_goal"] == info["true_goal"]  # the oracle backend
        assert info["goal_probability"] == float(info["is_goal"])
        assert (reward == task.REWARD_GOAL) == info["is_goal"]
        assert (reward == task.REWARD_REFUSED) == (not info["action_taken"] and not info["is_goal"])
        assert (reward == task.REWARD_MOVE) == (info["action_taken"] and not info["is_goal"])
        distance = float(np.hypot(*(new_obs.astype(np.float64) - OBJECT_XY)))
        if abs(distance - task.GOAL_RADIUS) > MARGIN:
            assert info["true_goal"] == (distance < task.GOAL_RADIUS), (distance, info)

        # time limit: truncated exactly at the limit (with Gymnasium's TimeLimit semantics a goal on
        # the last step is both terminated and truncated)
        assert truncated == (number >= limit), (number, limit)

        # refused moves and the workspace
        target = obs.astype(np.float64) + action.astype(np.float64)
        margin = signed_margin(target)
        if margin > MARGIN:
            assert info["action_taken"], (obs, action, target)
        elif margin < -MARGIN:
            assert not info["action_taken"], (obs, action, target)
        else:
            event("step within 1 mm of a bound (action_taken not asserted)")
        event("goal" if terminated else "refused" if not info["action_taken"] else "moved")
        if info["action_taken"]:
            error = float(np.max(np.abs(new_obs.astype(np.float64) - np.clip(target, LOW, HIGH))))
            assert error < MOVE_TOLERANCE, (obs, action, new_obs, error)
        else:
            np.testing.assert_array_equal(new_obs, obs)

        if terminated or truncated:
            event("episode ended by " + ("goal" if terminated else "time limit"))
            return
        obs = new_obs
    assert len(plan) < limit  # not ended before the limit, so the plan was shorter than it


def test_steps_keep_the_contract_with_gym_make_default_limit():
    """gym.make's default TimeLimit of 10 steps; plans of 1..15 steps."""
    with made_env() as env:

        @SETTINGS
        @example(seed=0, plan=INTO_THE_WALL)
        @example(seed=284, plan=GOAL_ON_STEP_TEN)
        @given(seed=seeds, plan=steps)
        def prop(seed, plan):
            run_episode(env, seed, plan, DEFAULT_LIMIT)

        prop()


def test_steps_keep_the_contract_with_a_drawn_time_limit():
    """gym.make's TimeLimit with a drawn limit (what ``gym.make(..., max_episode_steps=n)`` builds).

    The explicit example reaches the goal on the only allowed step (seed 284 starts within one
    clipped step of the object).
    """
    with made_env(max_episode_steps=-1) as base:  # -1: no TimeLimit; one is added per example

        @SETTINGS
        @example(seed=284, plan=[TOWARD], limit=1)
        @given(seed=seeds, plan=steps, limit=st.integers(1, 12))
        def prop(seed, plan, limit):
            run_episode(TimeLimit(base, max_episode_steps=limit), seed, plan, limit)

        prop()


def test_steps_keep_the_contract_with_the_env_own_limit():
    """The env's own ``max_episode_steps`` (no TimeLimit wrapper)."""
    with made_env(max_episode_steps=-1) as env:

        @SETTINGS
        @example(seed=284, plan=[TOWARD], limit=1)
        @given(seed=seeds, plan=steps, limit=st.integers(1, 12))
        def prop(seed, plan, limit):
            env.unwrapped.max_episode_steps = limit
            run_episode(env, seed, plan, limit)

        prop()


def test_same_seed_and_actions_give_identical_episodes_on_two_coexisting_envs():
    with made_env() as first, made_env() as second:

        @SETTINGS
        @given(seed=seeds, plan=steps, other_seed=seeds, other_action=actions)
        def prop(seed, plan, other_seed, other_action):
            # Give the second env a different history first: reset must wipe it out.
            second.reset(seed=other_seed)
            second.step(other_action)

            obs_a, info_a = first.reset(seed=seed)
            obs_b, info_b = second.reset(seed=seed)
            np.testing.assert_array_equal(obs_a, obs_b)
            assert info_a == info_b
            for step in plan:
                # interleaved steps: both PyBullet clients are alive and used in turn
                out_a = first.step(resolve(step, obs_a))
                out_b = second.step(resolve(step, obs_b))
                np.testing.assert_array_equal(out_a[0], out_b[0])
                assert out_a[1:] == out_b[1:]
                obs_a, obs_b = out_a[0], out_b[0]
                if out_a[2] or out_a[3]:
                    break

        prop()


def test_reset_starts_away_from_the_object_and_depends_on_the_seed():
    with made_env() as env:

        @SETTINGS
        @given(seed=seeds, other=seeds)
        def prop(seed, other):
            assume(seed != other)
            start, info = env.reset(seed=seed)
            check_obs(env, start)
            check_info(info)
            distance = float(np.hypot(*(start.astype(np.float64) - OBJECT_XY)))
            # the drawn start is >= 0.10 m away; the arm reaches it within 0.5 mm
            assert distance >= task.MIN_START_DISTANCE - 5e-4, (seed, start, distance)
            other_start, _ = env.reset(seed=other)
            assert not np.array_equal(start, other_start), (seed, other, start)
            again, _ = env.reset(seed=seed)
            np.testing.assert_array_equal(again, start)

        prop()
