"""FastSAC does SB3's SAC update: the same losses and parameters from the same state and draws."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv

from panda_env.training.fast_sac import FastSAC, fast_path_problem
from panda_env.training.fast_sac_layout import actor_specs, critic_specs
from panda_env.training.fast_sac_math import actor_backward, actor_forward, ensemble_backward, ensemble_forward
from panda_env.training.profiles import check_learner, sac_class

# the fast profile's kind of settings, on a small continuous-control task
SETTINGS = {"learning_rate": 7e-3, "gamma": 0.98, "tau": 0.05, "buffer_size": 500,
            "policy_kwargs": {"net_arch": [32, 32], "optimizer_kwargs": {"fused": True}}}
LOSSES = ("train/critic_loss", "train/actor_loss", "train/ent_coef_loss", "train/ent_coef")


def _agent(cls, n_envs: int = 1, **overrides):
    env = DummyVecEnv([lambda: gym.make("Pendulum-v1")] * n_envs)
    agent = cls("MlpPolicy", env, seed=0, **{**SETTINGS, **overrides})
    agent.set_logger(configure(None, []))
    rng = np.random.default_rng(0)
    for _ in range(300):  # the same transitions in both buffers, some episode ends, some timeouts
        obs = rng.normal(size=(n_envs, 3)).astype(np.float32)
        actions = rng.uniform(-2, 2, size=(n_envs, 1)).astype(np.float32)
        dones = rng.random(n_envs) < 0.1
        infos = [{"TimeLimit.truncated": bool(rng.random() < 0.5)} for _ in range(n_envs)]
        agent.replay_buffer.add(obs, obs * 0.9, actions, rng.normal(size=n_envs), dones, infos)
    return agent


def _train_both(reference, candidate, calls: int, gradient_steps: int = 2) -> list[tuple[dict, dict]]:
    """Train both with the same NumPy and torch draws; the losses each logged per call."""
    logged = []
    for call in range(calls):
        pair = []
        for agent in (reference, candidate):
            np.random.seed(call)
            torch.manual_seed(call)
            agent.train(gradient_steps, batch_size=64)
            pair.append({k: agent.logger.name_to_value[k] for k in LOSSES})
        logged.append(tuple(pair))
    return logged


def _worst_parameter_gap(a, b) -> float:
    pa, pb = a.policy.state_dict(), b.policy.state_dict()
    assert pa.keys() == pb.keys()
    return max((pa[k] - pb[k]).abs().max().item() for k in pa)


@pytest.mark.parametrize(("n_envs", "interval"), [(1, 1), (2, 2)])
def test_same_losses_and_parameters_as_sb3(n_envs, interval):
    sb3, fast = _agent(SAC, n_envs, target_update_interval=interval), _agent(FastSAC, n_envs,
                                                                             target_update_interval=interval)
    assert fast_path_problem(fast) is None
    for ours, theirs in _train_both(sb3, fast, calls=15):
        for key in LOSSES:
            assert theirs[key] == pytest.approx(ours[key], rel=1e-4, abs=1e-5), key
    assert _worst_parameter_gap(sb3, fast) < 1e-4
    assert fast.log_ent_coef.item() == pytest.approx(sb3.log_ent_coef.item(), abs=1e-5)
    for name in ("actor", "critic"):  # Adam's moments and step counts are SB3's optimizers' own state
        ours, theirs = (getattr(a, name).optimizer.state_dict()["state"] for a in (sb3, fast))
        for index, state in ours.items():
            assert float(theirs[index]["step"]) == float(state["step"]) == 30
            torch.testing.assert_close(theirs[index]["exp_avg"], state["exp_avg"], atol=1e-5, rtol=1e-3)
    assert fast._n_updates == sb3._n_updates == 30


def test_the_comparison_catches_a_different_update():
    """The tolerances above are tight enough to see a 1% change of the learning rate."""
    sb3, fast = _agent(SAC), _agent(FastSAC, learning_rate=7e-3 * 1.01)
    _train_both(sb3, fast, calls=15)
    assert _worst_parameter_gap(sb3, fast) > 1e-3


def test_saved_agent_is_a_plain_sb3_sac_and_resumes_as_sb3_would(tmp_path):
    fast = _agent(FastSAC)
    _train_both(_agent(SAC), fast, calls=3)
    fast.save(tmp_path / "agent.zip")
    loaded = SAC.load(tmp_path / "agent.zip")
    assert type(loaded) is SAC and _worst_parameter_gap(fast, loaded) == 0.0
    obs = np.zeros((4, 3), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], fast.predict(obs, deterministic=True)[0])
    # the Adam state went into the zip: SB3 and FastSAC resumed from it take the same steps
    resumed = [cls.load(tmp_path / "agent.zip") for cls in (SAC, FastSAC)]
    for agent in resumed:
        agent.set_logger(configure(None, []))
        agent.replay_buffer = fast.replay_buffer
    assert float(resumed[1].critic.optimizer.state_dict()["state"][0]["step"]) == 6
    _train_both(*resumed, calls=5)
    assert _worst_parameter_gap(*resumed) < 1e-4


def test_settings_it_does_not_cover_run_sb3s_own_update():
    sb3, fast = _agent(SAC, ent_coef=0.2), _agent(FastSAC, ent_coef=0.2)
    assert fast_path_problem(fast) == "a fixed entropy coefficient"
    _train_both(sb3, fast, calls=3)
    assert _worst_parameter_gap(sb3, fast) == 0.0  # the very same code ran


def test_written_out_gradients_match_autograd():
    torch.manual_seed(0)
    agent = _agent(SAC)
    critics = [torch.zeros(shape) for shape, _ in critic_specs(agent.critic.q_networks)]
    actor = [torch.zeros(shape) for shape, _ in actor_specs(agent.actor.latent_pi[0::2], agent.actor.mu,
                                                          agent.actor.log_std)]
    for leaf in (*critics, *actor):
        leaf.normal_(0, 0.5).requires_grad_(True)
    with torch.no_grad():
        actor[-1][1] = 5.0  # one log-std beyond SB3's clamp: no gradient flows there
    inputs, weights = torch.randn(16, 4), torch.randn(2, 16, 1)
    acts = ensemble_forward(critics, inputs)
    grads = [torch.zeros_like(leaf) for leaf in critics]
    ensemble_backward([c.detach() for c in critics], [a.detach() for a in acts], weights, grads)
    expected = torch.autograd.grad((acts[-1] * weights).sum(), critics)
    for ours, theirs in zip(grads, expected, strict=True):
        torch.testing.assert_close(ours, theirs)
    obs, eps = torch.randn(16, 3), torch.randn(16, 1)
    run = actor_forward(actor, obs, eps)
    grad_action, scale = torch.randn(8, 1), torch.tensor(0.3)
    loss = (run["action"][:8] * grad_action).sum() + scale * run["log_prob"][:8].sum()
    expected = torch.autograd.grad(loss, actor)
    grads = [torch.zeros_like(leaf) for leaf in actor]
    detached = {k: [a.detach() for a in v] if k == "acts" else v.detach() for k, v in run.items()}
    actor_backward([a.detach() for a in actor], detached, 8, grad_action, scale, grads)
    for ours, theirs in zip(grads, expected, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-3)  # float32 rounding near tanh saturation


@pytest.mark.parametrize("deterministic", [True, False])
@pytest.mark.parametrize("shape", [(3,), (5, 3)])
def test_predict_gives_sb3s_actions_from_the_same_draws(deterministic, shape):
    fast = _agent(FastSAC)
    _train_both(_agent(SAC), fast, calls=3)  # trained weights, not the initial ones
    obs = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    torch.manual_seed(7)
    ours, _ = fast.predict(obs, deterministic=deterministic)
    after_ours = torch.get_rng_state()
    torch.manual_seed(7)
    theirs, _ = SAC.predict(fast, obs, deterministic=deterministic)
    assert ours.shape == theirs.shape == (*shape[:-1], 1) and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    assert torch.equal(torch.get_rng_state(), after_ours)  # it drew as much noise as SB3: later draws match too


def test_predict_comparison_catches_a_different_action():
    fast = _agent(FastSAC)
    obs = np.zeros(3, dtype=np.float32)
    before = fast.predict(obs, deterministic=True)[0]
    with torch.no_grad():
        fast.actor.mu.bias.add_(1e-3)  # the fast predict reads the live weights
    assert fast.predict(obs, deterministic=True)[0] != before
    np.testing.assert_array_equal(fast.predict(obs, deterministic=True)[0], SAC.predict(fast, obs, deterministic=True)[0])


def test_predict_leaves_other_policies_and_observations_to_sb3():
    fast = _agent(FastSAC, use_sde=True)
    assert fast._actor_layers() is None
    assert fast.predict(np.zeros(3, dtype=np.float32))[0].shape == (1,)
    plain = _agent(FastSAC)
    with pytest.raises(ValueError, match="Error: Unexpected observation shape"):  # SB3's own message
        plain.predict(np.zeros(4, dtype=np.float32))


def test_learn_collects_the_same_transitions_as_sb3():
    """The whole loop (actions, buffer, gradient steps) from one seed: SB3's transitions, to float rounding."""
    agents = []
    for cls in (SAC, FastSAC):
        agent = cls("MlpPolicy", gym.make("Pendulum-v1"), seed=3, learning_starts=50, train_freq=4, gradient_steps=2,
                    **SETTINGS)
        agent.learn(400)
        agents.append(agent)
    sb3, fast = (a.replay_buffer for a in agents)
    assert sb3.pos == fast.pos == 400
    np.testing.assert_allclose(fast.actions[:400], sb3.actions[:400], atol=1e-3)
    np.testing.assert_allclose(fast.observations[:400], sb3.observations[:400], atol=1e-3)


def test_fast_profile_learns_with_fast_sac_and_original_with_sb3():
    assert check_learner(None, "fast") == "fast" and check_learner(None, "original") == "sb3"
    assert sac_class("fast") is FastSAC and sac_class("sb3") is SAC
    with pytest.raises(ValueError, match="unknown learner 'jax'; allowed values: fast, sb3"):
        check_learner("jax", "fast")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_both_learners_solve_the_task_on_the_same_seeds(seed):
    """The success over seeds, as SB3's own learner reaches it (the oracle reward: the learning, not the classifier)."""
    from panda_env.training.sac import train
    from panda_env.training.solved import SolvedRule

    for learner in ("fast", "sb3"):
        report = train("oracle", steps=4000, seed=seed, eval_episodes=50, table_rows=0, until_solved=SolvedRule(),
                       learner=learner)
        assert report.until_solved["solved"], learner
        assert report.evaluation["success_rate"] >= 0.9, learner
