"""The contract suite's deployed path: the reward the env itself computes each step (``drl_deployed_keys``: by
default ``info['is_goal']`` and ``info['goal_probability']``) is the classifier directory's decision, by the
reference, on that step's own inputs (found as the decision parity finds them). ``drl_deployed_steps`` random steps
from ``drl_fidelity_seed``; the env is built with ``drl_deployed_env_kwargs`` (e.g. the argument that makes its reward
the learned one). An env that reports neither key, shows no inputs, or rewards with its truth is NOT VERIFIED.
"""

from __future__ import annotations

import pytest

from pytest_drlreward.plugin.recording import COVERAGE_PROPERTY, FIDELITY_PROPERTY


def _deployed_env(drl_config):
    """The env as deployed (``drl_deployed_env_kwargs``), asking for ``render_mode="rgb_array"`` only when it must."""
    from pytest_drlreward.plugin.fixtures import rollout_env

    return rollout_env(drl_config.env_to_make(), **dict(drl_config.deployed_env_kwargs))


def test_deployed_reward_matches_classifier(request, reference_backend, drl_config, drl_verdicts):
    """At every step, the env's own reward decision (and goal probability, within drl_deployed_atol) is the
    directory's decision on the inputs the env shows after that step."""
    from pytest_drlreward.checks.deployed import assert_deployed_reward_matches
    from pytest_drlreward.checks.rollout import NoImageSourceError, collect_rollout
    from pytest_drlreward.errors import NotVerifiedError
    from pytest_drlreward.plugin.verdicts import describe_sources, require_varied

    if drl_config.env is None:
        pytest.skip("no env configured: set the drl_env ini key or --drl-env=ID_OR_SPEC")
    if drl_config.deployed_steps == 0:
        pytest.skip("drl_deployed_steps = 0: the deployed-path check is off")
    keys = drl_config.deployed_keys
    env = _deployed_env(drl_config)
    try:
        rollout = collect_rollout(env, drl_config.deployed_steps, seed=drl_config.fidelity_seed,
                                  truth_key=drl_config.truth_key, decision_key=keys["decision"],
                                  probability_key=keys["probability"], inputs=reference_backend.inputs,
                                  input_keys=drl_config.input_keys or None, dense_truth=True)
    except NoImageSourceError as error:
        raise NotVerifiedError("deployed", str(error), "give the env a camera_image() method, or let its factory take "
                                                       "render_mode='rgb_array'") from None
    finally:
        env.close()
    sources = describe_sources(dict(rollout.sources)) if rollout.sources else "the env"
    require_varied(rollout.images, "deployed", f"inputs ({sources})",
                   "map each classifier input to the env key that holds it (drl_input_keys)")
    request.node.user_properties.append((COVERAGE_PROPERTY, f"deployed: {len(rollout)} env steps ({sources})"))
    drl_verdicts(FIDELITY_PROPERTY, lambda: assert_deployed_reward_matches(
        rollout, reference_backend, decision_key=keys["decision"], probability_key=keys["probability"],
        atol=drl_config.deployed_atol))
