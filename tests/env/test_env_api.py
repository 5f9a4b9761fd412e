"""API, input-validation, kinematics and camera tests of ``PandaHover-v0`` (plain pytest)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import panda_env
from panda_env.envs import task
from panda_env.envs.hover import PandaHoverEnv
from panda_env.sim import SceneConfig

OBJECT_POSITION = (0.65, -0.30, 0.05)
FAR_FROM_OBJECT = (0.45, 0.30)  # the gripper's x-y when the object must be unobstructed
ZERO = np.zeros(2, dtype=np.float32)


@pytest.fixture
def env():
    env = gym.make(panda_env.ENV_ID)
    yield env
    env.close()


def make_raw(**kwargs) -> PandaHoverEnv:
    return PandaHoverEnv(**kwargs)


def blue_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of the object's colour (rgba 0.04 0.07 0.91)."""
    r, g, b = (image[..., k].astype(int) for k in range(3))
    return (b > 150) & (r < 80) & (g < 80)


def blue_pixels_near(image: np.ndarray, pixel: tuple[float, float], radius: int = 3) -> int:
    col, row = (int(round(v)) for v in pixel)
    assert 0 <= col < image.shape[1] and 0 <= row < image.shape[0], pixel
    window = blue_mask(image)[max(row - radius, 0):row + radius + 1, max(col - radius, 0):col + radius + 1]
    return int(window.sum())


# -- checkers ---------------------------------------------------------------------------------------
def test_gymnasium_env_checker_passes_without_warnings(env):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)


def test_gymnasium_env_checker_passes_with_render_check():
    env = gym.make(panda_env.ENV_ID, render_mode="rgb_array")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gym_check_env(env.unwrapped, skip_render_check=False)
    finally:
        env.close()


def test_stable_baselines3_env_checker_passes(env):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Our action space is [-0.1, 0.1]^2 on purpose (metres per step).
        warnings.filterwarnings("ignore", message="We recommend you to use a symmetric and normalized Box",
                                category=UserWarning)
        sb3_check_env(env.unwrapped, warn=True)


# -- gym.make and the time limit --------------------------------------------------------------------
def test_gym_make_builds_the_env_with_a_ten_step_limit(env):
    assert isinstance(env.unwrapped, PandaHoverEnv)
    assert env.spec.id == panda_env.ENV_ID and env.spec.max_episode_steps == 10
    assert env.unwrapped.reward_backend == "oracle"
    env.reset(seed=0)
    for number in range(1, 11):
        _, _, terminated, truncated, _ = env.step(ZERO)
        assert not terminated
        assert truncated == (number == 10), number


def test_max_episode_steps_three_truncates_at_step_three():
    env = gym.make(panda_env.ENV_ID, max_episode_steps=3)
    try:
        env.reset(seed=1)
        outcomes = [env.step(ZERO)[2:4] for _ in range(3)]
        assert outcomes == [(False, False), (False, False), (False, True)]
    finally:
        env.close()


@pytest.mark.parametrize("through_make", [True, False])
def test_goal_on_the_last_allowed_step_is_terminated_and_truncated(through_make):
    """Seed 284 starts within one step of the object; with a 1-step limit the goal is reached on the
    last allowed step. Gymnasium's TimeLimit reports it as terminated and truncated; the env's own
    limit does the same, so both routes agree."""
    env = gym.make(panda_env.ENV_ID, max_episode_steps=1) if through_make else make_raw(max_episode_steps=1)
    try:
        obs, _ = env.reset(seed=284)
        action = np.clip(np.asarray(OBJECT_POSITION[:2]) - obs, -0.1, 0.1).astype(np.float32)
        _, reward, terminated, truncated, info = env.step(action)
        assert info["is_goal"] and terminated and reward == task.REWARD_GOAL
        assert truncated
    finally:
        env.close()


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (np.array([np.nan, 0.0], dtype=np.float32), "nan"),
        (np.array([0.0, np.inf], dtype=np.float32), "inf"),
        (np.zeros(3, dtype=np.float32), "(3,)"),
        (np.array([0.5, 0.0], dtype=np.float32), "0.5"),
        ([0.5, 0], "0.5"),
    ],
    ids=["nan", "inf", "shape3", "out-of-bounds-array", "out-of-bounds-list"],
)
def test_bad_actions_raise_value_error_naming_the_value(action, expected):
    env = make_raw()
    try:
        env.reset(seed=0)
        with pytest.raises(ValueError) as error:
            env.step(action)
        assert expected in str(error.value), str(error.value)
    finally:
        env.close()


def test_bad_action_through_gym_make_raises_value_error(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="nan"):
        env.step(np.array([np.nan, 0.0], dtype=np.float32))


def test_unknown_reward_backend_names_the_allowed_values():
    with pytest.raises(ValueError) as error:
        make_raw(reward_backend="nope")
    message = str(error.value)
    assert "nope" in message
    for allowed in ("oracle", "torch", "onnxruntime", "openvino"):
        assert allowed in message, message


def test_unknown_render_quality_names_the_allowed_values():
    with pytest.raises(ValueError) as error:
        make_raw(render_quality="ultra")
    message = str(error.value)
    assert "ultra" in message and "fast" in message and "full" in message, message


# -- lifecycle and independence -------------------------------------------------------------------
def test_close_twice_is_harmless():
    env = gym.make(panda_env.ENV_ID)
    env.reset(seed=0)
    env.close()
    env.close()
    raw = make_raw()
    raw.close()
    raw.close()
    assert raw._scene.closed


def test_several_envs_step_independently():
    first, second = gym.make(panda_env.ENV_ID), gym.make(panda_env.ENV_ID)
    try:
        obs_a, _ = first.reset(seed=5)
        obs_b, _ = second.reset(seed=5)
        np.testing.assert_array_equal(obs_a, obs_b)
        move = np.clip(np.asarray(OBJECT_POSITION[:2]) - obs_a, -0.05, 0.05).astype(np.float32)
        moved, _, _, _, info = first.step(move)
        assert info["action_taken"] and np.linalg.norm(moved - obs_a) > 0.02
        # the second env's arm did not move: a no-op step there still reports its own start
        still, _, _, _, info_b = second.step(ZERO)
        np.testing.assert_allclose(still, obs_b, atol=1e-6)
        np.testing.assert_allclose(second.unwrapped._scene.ee_position()[:2], obs_b, atol=1e-6)
        # and closing one leaves the other usable
        first.close()
        again, _, _, _, _ = second.step(move)
        np.testing.assert_allclose(again, still + move, atol=2e-3)
    finally:
        first.close()
        second.close()


# -- kinematics --------------------------------------------------------------------------------------
def workspace_grid() -> list[tuple[float, float]]:
    """30 points (5 x 6) over the workspace, bounds and corners included, visited in a serpentine."""
    xs = np.linspace(task.WORKSPACE_LOW[0], task.WORKSPACE_HIGH[0], 5)
    ys = np.linspace(task.WORKSPACE_LOW[1], task.WORKSPACE_HIGH[1], 6)
    return [(float(x), float(y)) for i, x in enumerate(xs) for y in (ys if i % 2 == 0 else ys[::-1])]


def test_gripper_reaches_commanded_xy_at_hover_height_in_both_render_qualities():
    fast, full = make_raw(render_quality="fast"), make_raw(render_quality="full")
    try:
        for x, y in workspace_grid():
            ee_fast = fast._scene.move_to(x, y)
            ee_full = full._scene.move_to(x, y)
            assert np.hypot(ee_fast[0] - x, ee_fast[1] - y) < 2e-3, ((x, y), ee_fast)
            assert abs(ee_fast[2] - task.HOVER_HEIGHT) < 2e-3, ((x, y), ee_fast)
            # same kinematics whatever the visual meshes
            np.testing.assert_allclose(ee_full, ee_fast, atol=1e-6, err_msg=str((x, y)))
    finally:
        fast.close()
        full.close()


# -- camera ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "shape"), [({}, (task.IMAGE_SIZE, task.IMAGE_SIZE, 3)),
                                               ({"image_size": 64}, (64, 64, 3))])
def test_camera_image_dtype_and_shape(kwargs, shape):
    env = make_raw(**kwargs)
    try:
        env.reset(seed=0)
        image = env.camera_image()
        assert image.dtype == np.uint8 and image.shape == shape
        assert image.flags.c_contiguous and image.std() > 5  # a real picture, not a blank
    finally:
        env.close()


def test_camera_image_changes_when_the_arm_moves():
    env = make_raw()
    try:
        env._scene.move_to(*FAR_FROM_OBJECT)
        first = env.camera_image().astype(int)
        again = env.camera_image().astype(int)
        np.testing.assert_array_equal(first, again)  # nothing moved: same picture
        env._scene.move_to(*OBJECT_POSITION[:2])  # over the object: the hand fills much of the view
        second = env.camera_image().astype(int)
        changed = (np.abs(first - second).max(axis=-1) > 30).mean()
        assert changed > 0.2, changed
    finally:
        env.close()


@pytest.mark.parametrize("image_size", [64, 96])
@pytest.mark.parametrize("quality", ["fast", "full"])
def test_object_is_visible_at_its_projected_pixel(quality, image_size):
    env = make_raw(render_quality=quality, image_size=image_size)
    try:
        env._scene.move_to(*FAR_FROM_OBJECT)
        image = env.camera_image()
        pixel = env._scene.camera.project(OBJECT_POSITION)
        assert blue_pixels_near(image, pixel, radius=3 * image_size // 64) >= 3, pixel
        # and the blue is the object's: every blue pixel lies inside the object's projected bounding box
        scene = env._scene
        low, high = scene.client.getAABB(scene.object_id)
        corners = [scene.camera.project((x, y, z)) for x in (low[0], high[0]) for y in (low[1], high[1])
                   for z in (low[2], high[2])]
        cols, rows = np.array(corners).T
        blue_rows, blue_cols = np.nonzero(blue_mask(image))
        assert blue_rows.size and cols.min() - 1 <= blue_cols.min() and blue_cols.max() <= cols.max() + 1
        assert rows.min() - 1 <= blue_rows.min() and blue_rows.max() <= rows.max() + 1
    finally:
        env.close()


@pytest.mark.parametrize("quality", ["fast", "full"])
def test_moved_object_leaves_no_blue_at_the_old_spot(quality):
    moved = (0.5, 0.2, 0.05)
    config = SceneConfig(object_position=moved, render_quality=quality, camera="front")  # sees both spots
    env = make_raw(scene_config=config)
    try:
        env._scene.move_to(*FAR_FROM_OBJECT)
        image = env.camera_image()
        camera = env._scene.camera
        assert blue_pixels_near(image, camera.project(OBJECT_POSITION), radius=3) == 0
        assert blue_pixels_near(image, camera.project(moved), radius=3) >= 3  # it is drawn where it is now
    finally:
        env.close()


@pytest.mark.parametrize("object_position", [OBJECT_POSITION, (0.5, 0.2, 0.05)])
def test_overhead_camera_centres_the_object_wherever_it_is(object_position):
    env = make_raw(object_position=object_position)
    try:
        env._scene.move_to(0.70, 0.40 if object_position[1] < 0 else -0.40)  # gripper out of view
        image = env.camera_image()
        size = image.shape[0]
        assert env._scene.camera.project(object_position) == pytest.approx((size / 2, size / 2), abs=1.0)
        assert blue_pixels_near(image, (size / 2, size / 2), radius=max(2, size // 16)) >= 3
    finally:
        env.close()


def test_render_rgb_array_returns_the_camera_image():
    env = gym.make(panda_env.ENV_ID, render_mode="rgb_array")
    try:
        env.reset(seed=3)
        env.step(np.array([0.05, -0.05], dtype=np.float32))
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.shape == (task.IMAGE_SIZE, task.IMAGE_SIZE, 3)
        np.testing.assert_array_equal(frame, env.unwrapped.camera_image())
    finally:
        env.close()


def test_render_without_render_mode_returns_none_and_bad_mode_is_rejected(env):
    env.reset(seed=0)
    assert env.render() is None
    with pytest.raises(ValueError, match="human"):
        make_raw(render_mode="human")


def test_the_camera_renders_once_per_pose_and_a_second_look_is_an_independent_copy():
    """A second camera_image() before the arm moves (a reward audit keeping a false goal's frame) is not a second
    render; any move (a step, a reset, the scene's own move_to) makes the next call render the new pose."""
    env = make_raw()
    try:
        env.reset(seed=0)
        renders = env.timers["render"].calls
        first = env.camera_image()
        again = env.camera_image()
        np.testing.assert_array_equal(first, again)
        again[:] = 0  # a copy: the caller may scribble on it
        assert first.any() and env.camera_image().any()
        calls = []
        real = env._scene.camera.render
        env._scene.camera.render = lambda: calls.append(1) or real()
        env.camera_image()
        assert calls == []  # same pose: no render
        env.step(np.array([0.05, 0.0], np.float32))
        env.camera_image()
        env._scene.move_to(*FAR_FROM_OBJECT)
        env.camera_image()
        env.reset(seed=1)
        env.camera_image()
        assert len(calls) == 3  # after the step (its judge's look or ours), the move, the reset: each pose once
        assert env.timers["render"].calls > renders
    finally:
        env.close()
