"""An evaluation GIF a person can read: a wide view of the arm and the object, the classifier's own
view as an inset, and per frame the episode, step, reward, goal probability and the simulator's truth.

The goal disk and the workspace edge are drawn on the wide view; the last frame of each episode is
held. Rendering uses the env's ``overview_camera`` (not counted in its timers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from panda_env.envs import task

VIEW_SIZE = (320, 240)
INSET_SCALE = 2
CAPTION_HEIGHT = 40
FRAME_MS = 400
HOLD_MS = 1600
GOAL_GREEN = (30, 150, 60)
MISS_GREY = (90, 90, 90)


@dataclass
class Frame:
    """What one GIF frame shows."""

    view: np.ndarray  # wide view, uint8 (H, W, 3)
    classifier_view: np.ndarray  # the classifier's input, uint8 (h, w, 3)
    episode: int
    step: int
    reward: float | None  # None before the first step
    goal_probability: float | None
    true_goal: bool
    last: bool = False


def capture_frame(env, episode: int, step: int, reward: float | None, info: dict | None) -> Frame:
    """The frame of ``env``'s current state (``info`` of the last step, ``None`` right after reset)."""
    unwrapped = env.unwrapped
    return Frame(view=unwrapped.overview_camera(*VIEW_SIZE).render(), classifier_view=unwrapped.camera_image(),
                 episode=episode, step=step, reward=reward,
                 goal_probability=None if info is None else float(info["goal_probability"]),
                 true_goal=bool(info["true_goal"]) if info is not None else False)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _draw_task(draw, camera, object_xy: np.ndarray, radius: float) -> None:
    """The workspace edge and the goal disk, projected onto the table plane."""
    z = task.HOVER_HEIGHT - 0.05
    low, high = task.WORKSPACE_LOW, task.WORKSPACE_HIGH
    corners = [(low[0], low[1]), (low[0], high[1]), (high[0], high[1]), (high[0], low[1]), (low[0], low[1])]
    draw.line([camera.project((x, y, z)) for x, y in corners], fill=(170, 170, 170), width=1)
    angles = np.linspace(0, 2 * np.pi, 33)
    circle = [camera.project((object_xy[0] + radius * np.cos(a), object_xy[1] + radius * np.sin(a), z)) for a in angles]
    draw.line(circle, fill=GOAL_GREEN, width=2)


def compose(frame: Frame, camera, object_xy: np.ndarray, radius: float):
    """One GIF frame as a PIL image: the wide view with the task drawn, the inset, the caption."""
    from PIL import Image, ImageDraw

    height, width = frame.view.shape[:2]
    canvas = Image.new("RGB", (width, height + CAPTION_HEIGHT), (255, 255, 255))
    canvas.paste(Image.fromarray(frame.view), (0, 0))
    draw = ImageDraw.Draw(canvas)
    _draw_task(draw, camera, object_xy, radius)
    inset = Image.fromarray(frame.classifier_view)
    inset = inset.resize((inset.width * INSET_SCALE, inset.height * INSET_SCALE), Image.NEAREST)
    x0 = width - inset.width - 6
    canvas.paste(inset, (x0, 6))
    draw.rectangle([x0 - 1, 5, x0 + inset.width, 6 + inset.height], outline=(0, 0, 0))
    draw.text((x0, 8 + inset.height), "classifier view", fill=(0, 0, 0), font=_font(11))
    colour = GOAL_GREEN if frame.true_goal else MISS_GREY
    if frame.reward is None:
        line1 = f"episode {frame.episode}   start"
        line2 = "reward: -   P(goal): -"
    else:
        line1 = f"episode {frame.episode}   step {frame.step}   reward {frame.reward:+.0f}"
        line2 = f"P(goal) {frame.goal_probability:.2f}   true goal: {'yes' if frame.true_goal else 'no'}"
        if frame.last:
            line2 += "   (end)"
    draw.rectangle([0, height, width, height + CAPTION_HEIGHT], fill=colour)
    draw.text((6, height + 3), line1, fill=(255, 255, 255), font=_font(14))
    draw.text((6, height + 21), line2, fill=(255, 255, 255), font=_font(14))
    return canvas


def write_episode_gif(frames: list[Frame], env, path: str | Path) -> Path:
    """Write ``frames`` (of ``env``'s episodes) as an animated GIF, atomically; each episode's end is held."""
    from pytest_drlreward.util.atomic import atomic_file

    unwrapped = env.unwrapped
    camera = unwrapped.overview_camera(*VIEW_SIZE)
    images = [compose(f, camera, unwrapped.object_xy, unwrapped.goal_radius) for f in frames]
    durations = [HOLD_MS if f.last else FRAME_MS for f in frames]
    path = Path(path)
    with atomic_file(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return path
