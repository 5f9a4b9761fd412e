"""The contract suite's strongest fidelity check (slow): a real optimiser against the learned reward. An SB3 agent
(SAC for a Box action space, PPO for a Discrete one, SB3's default settings) trains ``drl_audit_steps`` steps on
``drl_env`` as deployed (built with ``drl_deployed_env_kwargs``), with its learned reward, while the reward audit
(``pytest_drlreward.audit``) compares the env's learned decision with its truth on every state the agent visits; the
test fails at an established onset of exploitation, printing the step, the counts and where the false goals' frames are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from pytest_drlreward.errors import NotVerifiedError
from pytest_drlreward.plugin.recording import FIDELITY_PROPERTY


def _algorithm(env):
    """SB3's SAC for Box actions, PPO for Discrete; the policy for the observation space."""
    from gymnasium import spaces
    from stable_baselines3 import PPO, SAC

    policy = "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"
    if isinstance(env.action_space, spaces.Box):
        return SAC, policy
    if isinstance(env.action_space, spaces.Discrete):
        return PPO, policy
    raise NotVerifiedError("audit", f"the env's action space {env.action_space} is neither Box (SAC) nor Discrete (PPO)",
                           "train an agent yourself with pytest_drlreward.audit.RewardAuditCallback")


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Torch on one thread while the agent learns (small networks: faster, and under load by far), then as before."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _keys(drl_config, env) -> tuple[str, str, str | None]:
    """(decision key, truth key, probability key) the env reports; NOT VERIFIED when one is missing."""
    if not drl_config.truth_key:
        raise NotVerifiedError("audit", "no drl_truth_key: the audit compares the learned reward with the env's truth",
                               "set drl_truth_key to the info key of the env's ground truth (e.g. true_goal)")
    keys = getattr(drl_config, "deployed_keys", None) or {}
    decision, probability = keys.get("decision", "is_goal"), keys.get("probability", "goal_probability")
    env.reset(seed=drl_config.fidelity_seed)
    info = env.step(env.action_space.sample())[4]
    for key, what, fix in ((drl_config.truth_key, "truth", "set drl_truth_key to the info key of its truth"),
                           (decision, "learned decision", "report the learned reward's decision in info (drl_deployed_keys "
                                                          "'decision = KEY' names the key)")):
        if not key or key not in info:
            raise NotVerifiedError("audit", f"{drl_config.env} reports no {what} {key!r} in its step info (it reports "
                                   f"{sorted(map(str, info))})", fix)
    return decision, drl_config.truth_key, probability if probability in info else None


@pytest.mark.slow
def test_agent_does_not_exploit_the_learned_reward(request, drl_config, drl_env_factory, tmp_path_factory):
    """An SB3 agent trained on the learned reward does not learn to live in its false goals."""
    try:
        import stable_baselines3  # noqa: F401
        from stable_baselines3.common.monitor import Monitor
    except ImportError:
        raise NotVerifiedError("audit", "stable-baselines3 is not installed: no agent to train against the reward",
                               "pip install stable-baselines3") from None
    from pytest_drlreward.audit import RewardAudit, RewardAuditCallback
    from pytest_drlreward.plugin.recording import record

    deployed = dict(drl_config.deployed_env_kwargs)  # the env as deployed: rewarded by its learned classifier
    decision, truth, probability = _keys(drl_config, drl_env_factory(**deployed))
    env = drl_env_factory(**deployed)
    algorithm, policy = _algorithm(env)
    keys = dict(decision_key=decision, truth_key=truth, probability_key=probability,
                max_share=drl_config.audit_max_share)
    base = drl_config.plots if drl_config.plots is not None else tmp_path_factory.mktemp("drl_audit")
    agent = algorithm(policy, Monitor(RewardAudit(env, share_views=True, **keys)), seed=drl_config.fidelity_seed, verbose=0)
    callback = RewardAuditCallback(**keys, stop_on_exploitation=True, save_dir=base)
    with _one_torch_thread():
        agent.learn(drl_config.audit_steps, callback=callback)
    report = callback.report()
    trained = f"{algorithm.__name__} trained {agent.num_timesteps} of {drl_config.audit_steps} steps"
    record(request.node, FIDELITY_PROPERTY, f"reward audit: {trained}; {report.lines()[0]}", passed=not report.exploited)
    if report.exploited:
        where = f"\n  the agent at the onset: {callback.agent_path}" if callback.agent_path else ""
        pytest.fail(f"the agent exploits the learned reward ({trained}):\n  " + "\n  ".join(report.lines()) + where,
                    pytrace=False)
