"""The false-goal search on every reward shape (issue 27, item 2): the docs' two-camera single-logit
classifier over a Dict observation, its frame-stack variant (each camera a stack of 2 frames), and a
dense ``score``. Each right model passes; each version wrong near the goal FAILS by the false goals the
search finds (the false-goal search itself finds them, not only the goal search), and a found false
goal replays from its seed and actions to the same named inputs.

The env (``reward_models.TwoCameraPointEnv``): a point in the unit square, goal x + y > 1.6; the front
camera shows x, the wrist camera y. The right classifier's boundary is 1.602 (a hair inside the goal),
the wrong one's 1.5 (it calls the band 1.5-1.6 a goal: what an agent would exploit).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import reward_models

from pytest_drlreward.checks import FidelityError, assert_reward_fidelity, collect_rollout
from pytest_drlreward.checks.false_goals import false_goals_in, save_false_goals
from pytest_drlreward.checks.fidelity import collect_searches
from pytest_drlreward.checks.goalscore import goal_scores
from pytest_drlreward.checks.score_fidelity import ScoreFidelityError

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
RIGHT, WRONG = 1.602, 1.5
SEARCH_STEPS = 1200
MAX_RATE = 0.005  # the default drl_max_false_goal_rate


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    """{(frames, boundary): onnxruntime backend} for the two-camera model and its frame-stack variant."""
    from pytest_drlreward import load_backend

    out = {}
    for frames in (0, 2):
        for boundary in (RIGHT, WRONG):
            directory = tmp_path_factory.mktemp("two_camera") / f"model_{frames}_{boundary}"
            reward_models.export_two_camera(directory, boundary, frames)
            out[frames, boundary] = load_backend("onnxruntime", directory, threads=1)
    return out


def _rollout(frames, backend):
    return collect_rollout(reward_models.TwoCameraPointEnv(frames=frames), 300, seed=0, truth_key="true_goal",
                           inputs=backend.inputs)


@pytest.mark.parametrize("frames", [0, 2], ids=["two cameras", "two cameras of 2-frame stacks"])
def test_the_wrong_model_fails_by_the_false_goals_the_search_finds_and_the_right_one_passes(classifiers, frames):
    env = reward_models.TwoCameraPointEnv(frames=frames)
    right, wrong = classifiers[frames, RIGHT], classifiers[frames, WRONG]
    searches = collect_searches(env, right, SEARCH_STEPS, truth_key="true_goal")
    assert isinstance(searches[0].images, dict) and set(searches[0].images) == {"front", "wrist"}
    item = (frames, 3, 32, 32) if frames else (3, 32, 32)
    assert searches[0].images["front"].shape[1:] == item  # every named input of every state, time axis included
    report = assert_reward_fidelity(_rollout(frames, right), right, searches=searches)
    assert report.search_false_goal_rate.successes == 0 and report.recall.trials >= 5

    searches = collect_searches(env, wrong, SEARCH_STEPS, truth_key="true_goal")
    with pytest.raises(FidelityError, match="found false goals at a rate") as excinfo:
        assert_reward_fidelity(_rollout(frames, wrong), wrong, searches=searches)
    false_goal_search = excinfo.value.report.parts[1]
    assert false_goal_search.name == "search for false goals"
    assert false_goal_search.false_goal_rate.interval[0] > MAX_RATE  # the false-goal search on its own finds them


def test_a_false_goal_of_the_frame_stack_model_replays_to_the_same_inputs_and_is_saved_with_all_of_them(classifiers,
                                                                                                        tmp_path):
    wrong = classifiers[2, WRONG]
    states = collect_searches(reward_models.TwoCameraPointEnv(frames=2), wrong, SEARCH_STEPS, truth_key="true_goal")[0]
    found = false_goals_in(states, wrong)
    assert found.false_goals
    case = found.false_goals[0]
    env = reward_models.TwoCameraPointEnv(frames=2)
    env.reset(seed=case.seed)
    for action in case.actions:
        obs, _, _, _, info = env.step(action)
    assert info["true_goal"] is False and 1.5 < info["progress"] <= 1.6
    for name, key in reward_models.CAMERA_KEYS.items():
        np.testing.assert_array_equal(obs[key], case.inputs[name])  # both frames of both cameras
    saved = save_false_goals(found, tmp_path / "found", limit=2)
    summary = json.loads((saved / "false_goals.json").read_text())
    first = summary["cases"][0]
    assert summary["input_names"] == ["front", "wrist"] and "image" not in first
    assert first["seed"] == case.seed and np.allclose(first["actions"], case.actions)
    with np.load(saved / first["inputs"]) as inputs:
        again = goal_scores(wrong, {name: inputs[name][None] for name in ("front", "wrist")})[1][0]
    assert again == pytest.approx(case.probability)


def test_a_dense_score_fails_by_a_high_score_where_the_truth_is_low_and_the_right_score_passes(tmp_path):
    """A dense reward (``score`` rule, no threshold) against a dense truth (``progress`` = x + y): the right score
    passes; one that also pays along the bottom edge (low progress) FAILS by the search's false goals, although
    its correlation with the truth on the rollout passes."""
    from pytest_drlreward import load_backend

    backends = {}
    for bump in (0.0, 20.0):
        directory = reward_models.export_two_camera(tmp_path / f"score_{bump}", 0.0,
                                                    model=reward_models.two_camera_score_model(bump), decision="score")
        backends[bump] = load_backend("onnxruntime", directory.path, threads=1)
    env = reward_models.TwoCameraPointEnv()
    report = assert_reward_fidelity(env, backends[0.0], n_steps=300, truth_key="progress", search_steps=800)
    assert report.search_false_goals.successes == 0 and report.search_false_goals.trials > 100
    with pytest.raises(ScoreFidelityError, match="while the truth is low") as excinfo:
        assert_reward_fidelity(env, backends[20.0], n_steps=300, truth_key="progress", search_steps=800)
    report = excinfo.value.report
    assert report.correlation >= 0.5 and report.search_false_goals.interval[0] > MAX_RATE
    assert "correlation" not in "\n".join(report.problems)  # the search, not the rollout, catches it


@pytest.mark.parametrize("space", ["a string", "unbounded"])
def test_a_state_space_hook_the_search_cannot_steer_in_is_an_error_naming_it(classifiers, space):
    """``drl_state_space`` a string or an unbounded Box: SearchSpaceError (the plugin's NOT VERIFIED), not a silent drop."""
    import gymnasium as gym

    from pytest_drlreward.checks.search import SearchSpaceError, search_states

    class Placed(reward_models.TwoCameraPointEnv):
        drl_state_space = "box(0, 1)" if space == "a string" else gym.spaces.Box(0.0, np.inf, (2,), np.float64)

        def drl_place(self, state):
            return {"true_goal": False}

    with pytest.raises(SearchSpaceError, match=r"bounded Box state space \(drl_state_space\)"):
        search_states(Placed(), classifiers[0, RIGHT], budget=10)
