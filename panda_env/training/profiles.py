"""Run profiles: our fast settings, and the seed demo's conditions reproduced for comparison."""

from __future__ import annotations

from panda_env.sim import SceneConfig

PROFILES = ("fast", "seed")
SEED_RESOLUTION = (960, 720)


def scene_config(profile: str, image_size: int = 96) -> SceneConfig | None:
    """The scene of a profile (None: the env's default scene for ``image_size``)."""
    if profile == "fast":
        return None
    if profile == "seed":
        # The seed demo: full meshes, plane + table URDF, its camera at 960x720, and a move of
        # 500 physics steps under position control.
        return SceneConfig(image_size=image_size, render_quality="full", camera="seed", table="seed",
                           camera_resolution=SEED_RESOLUTION, move_mode="physics", physics_steps=500)
    raise ValueError(f"unknown profile {profile!r}; allowed values: {', '.join(PROFILES)}")
