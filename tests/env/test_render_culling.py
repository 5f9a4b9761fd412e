"""Culling the arm's out-of-view links from the classifier camera's render: the same picture, the same rewards.

A broken culling (one that hides a link the camera sees) must fail the same comparison.
"""

from __future__ import annotations

import numpy as np
import pytest

from panda_env.envs import task
from panda_env.reward import load_backend
from panda_env.sim import PandaScene
from panda_env.sim.culling import LinkCulling, boxes_outside, view_planes


def random_walk(episodes: int, seed: int) -> list[tuple[bool, np.ndarray]]:
    """(reset first?, x-y target) of episodes of 10 moves of at most 0.1 m, as the env's agent makes them."""
    rng = np.random.default_rng(seed)
    moves = []
    for _ in range(episodes):
        xy = rng.uniform(task.WORKSPACE_LOW, task.WORKSPACE_HIGH)
        moves.append((True, xy))
        for _ in range(10):
            target = xy + rng.uniform(-task.MAX_MOVE, task.MAX_MOVE, 2)
            if task.in_workspace(target):
                xy = target
                moves.append((False, xy))
    return moves


def renders(culled: PandaScene, full: PandaScene, moves) -> tuple[np.ndarray, np.ndarray, int]:
    """The classifier camera's images of both scenes after each move, and how many links culling hid."""
    images = ([], [])
    hidden = 0
    for reset, xy in moves:
        for scene in (culled, full):
            if reset:
                scene.reset_arm()
            scene.move_to(*xy)
        hidden += len(culled._culling.hidden())
        images[0].append(culled.render())
        images[1].append(full.render())
    return np.stack(images[0]), np.stack(images[1]), hidden


@pytest.fixture()
def scenes():
    culled, full = PandaScene(), PandaScene()
    full._culling = None  # renders every link, as before culling
    yield culled, full
    culled.close()
    full.close()


def assert_same_picture(culled: np.ndarray, full: np.ndarray) -> None:
    """At most one pixel of an image off, by one level (TinyRenderer's rounding; see panda_env.sim.culling)."""
    difference = np.abs(culled.astype(np.int16) - full.astype(np.int16))
    assert difference.max() <= 1, f"a pixel differs by {difference.max()} levels"
    pixels_off = np.any(difference > 0, axis=-1).reshape(len(culled), -1).sum(axis=1)
    assert pixels_off.max() <= 1, f"an image has {pixels_off.max()} pixels off"
    assert (pixels_off > 0).mean() < 0.01, f"{(pixels_off > 0).mean():.1%} of the images differ"


def test_culling_keeps_the_picture_and_the_rewards(scenes):
    culled, full = scenes
    culled_images, full_images, hidden = renders(culled, full, random_walk(40, seed=3))
    assert hidden / len(culled_images) >= 5, "culling hid fewer than 5 links a render: it no longer saves time"
    assert_same_picture(culled_images, full_images)
    backend = load_backend("onnxruntime")
    np.testing.assert_array_equal(backend.predict_goal(culled_images), backend.predict_goal(full_images))
    assert backend.predict_goal(full_images).any(), "no image of the walk shows the goal: a weak comparison"


def test_a_culling_that_hides_a_seen_link_fails_the_comparison(scenes, monkeypatch):
    culled, full = scenes
    every_link = list(culled._culling._links)
    monkeypatch.setattr(LinkCulling, "hidden", lambda self: every_link)
    culled_images, full_images, _ = renders(culled, full, random_walk(3, seed=3))
    with pytest.raises(AssertionError):
        assert_same_picture(culled_images, full_images)


def test_the_colours_come_back_for_other_cameras(scenes):
    culled, full = scenes
    for scene in scenes:
        scene.move_to(0.45, 0.3)  # far from the object: most links are out of the classifier camera's view
    culled.render()
    np.testing.assert_array_equal(culled.view("overview").render(), full.view("overview").render())


def test_a_box_is_culled_only_beside_the_view_and_beyond_the_near_plane():
    scene = PandaScene()
    try:
        planes = view_planes(scene.camera.clip_matrix)
        x, y, z = scene.config.object_position
        half = 0.01
        boxes = np.array([
            [[x - half, y - half, z], [x + half, y + half, z + half]],  # on the object: seen
            [[x + 0.5, y - half, z], [x + 0.5 + half, y + half, z + half]],  # half a metre aside: culled
            [[x - 1.0, y - half, z], [x + 1.0, y + half, z + half]],  # straddles the view: seen
            [[x + 0.3, y - half, z + 0.68], [x + 0.3 + half, y + half, z + 0.69]],  # aside, nearer than near
        ])
        assert boxes_outside(planes, boxes).tolist() == [False, True, False, False]
    finally:
        scene.close()
