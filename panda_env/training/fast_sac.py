"""SB3's SAC with a cheaper gradient step: the same update, computed with far fewer PyTorch calls.

``FastSAC.train`` does what ``stable_baselines3.SAC.train`` does, step for step and draw for draw (the
same replay indices from NumPy's global generator, the same action noise from torch's), so from the same
state it reaches the same parameters up to float rounding (``tests/training/test_fast_sac.py``). What
changes is the overhead of a small network's update:

- both critics (and both target critics) run as one batched ensemble (``torch.baddbmm``);
- the actor runs once over the observations and the next observations together;
- the entropy coefficient's gradient is written directly (its loss is linear in it);
- each optimizer's parameters live in one buffer (SB3's parameters are views of it), so Adam is one
  fused kernel for the critics and one for the actor and entropy coefficient, the Polyak average one
  ``lerp_``, and the gradients need no zeroing per tensor;
- the batch is gathered from the replay buffer straight into preallocated tensors; the losses are read
  back once per ``train`` call, not once per gradient step.

``FastSAC.predict`` (which SB3's rollout collection and the checks call once a step) gives SB3's actions
from the same torch draws without building distribution objects or walking the modules to set eval mode
(a Linear/ReLU actor ignores it); ``train`` likewise leaves the mode as it is.

Settings the fast path does not cover (gSDE, a fixed entropy coefficient, other activations or feature
extractors, optimizers other than Adam with one learning rate, VecNormalize) fall back to SB3's own
``train``. A saved agent is a plain SB3 SAC zip: ``SAC.load`` reads it.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.torch_layers import FlattenExtractor

from panda_env.training.fast_sac_layout import FlatGroup, actor_specs, critic_specs, mlp_linears
from panda_env.training.fast_sac_math import actor_action, actor_backward, actor_forward, ensemble_backward, ensemble_forward

logger = logging.getLogger(__name__)


def fast_path_problem(model: SAC) -> str | None:
    """Why ``FastSAC`` must use SB3's own ``train`` for ``model`` (None: the fast path covers it)."""
    actor, critic = model.actor, model.critic
    if model.use_sde:
        return "gSDE"
    if model.ent_coef_optimizer is None:
        return "a fixed entropy coefficient"
    if model._vec_normalize_env is not None:
        return "VecNormalize"
    if any(type(m.features_extractor) is not FlattenExtractor for m in (actor, critic, model.critic_target)):
        return "a features extractor other than Flatten"
    if model.batch_norm_stats:
        return "batch normalisation"
    if mlp_linears(actor.latent_pi, ends_in_relu=True) is None or \
            any(mlp_linears(q) is None for q in (*critic.q_networks, *model.critic_target.q_networks)):
        return "layers other than Linear and ReLU"
    groups = [g for opt in (actor.optimizer, critic.optimizer, model.ent_coef_optimizer) for g in opt.param_groups]
    if any(type(opt) is not torch.optim.Adam for opt in (actor.optimizer, critic.optimizer, model.ent_coef_optimizer)):
        return "an optimizer other than Adam"
    if len(groups) != 3 or any(g["weight_decay"] or g["amsgrad"] or g["maximize"] for g in groups) or \
            len({(g["betas"], g["eps"]) for g in groups}) != 1:
        return "Adam settings other than one set of betas and eps without weight decay"
    if any(p.dtype != torch.float32 for p in model.policy.parameters()):
        return "parameters other than float32"
    return None


class _Batch:
    """Preallocated tensors a gradient step reads (with NumPy views of them, which the sampling fills):
    observations and next observations stacked ((2B, obs): the actor runs once over both), actions,
    rewards, the discount of each transition (0 where the episode ended) and the critics' inputs."""

    def __init__(self, batch_size: int, obs_dim: int, action_dim: int):
        self.obs2 = torch.zeros(2 * batch_size, obs_dim)
        self.actions = torch.zeros(batch_size, action_dim)
        self.rewards = torch.zeros(batch_size, 1)
        self.not_done = torch.zeros(batch_size, 1)  # (1 - done) * discount
        self.critic_in = torch.zeros(batch_size, obs_dim + action_dim)
        self.eps = torch.zeros(2, batch_size, action_dim)
        self.obs, self.next_obs = self.obs2[:batch_size], self.obs2[batch_size:]
        self.eps_pair, self.eps2 = self.eps.unbind(0), self.eps.view(2 * batch_size, action_dim)
        self.np = {name: getattr(self, name).numpy() for name in ("obs2", "actions", "rewards", "not_done")}


def _buffer_arrays(buffer: ReplayBuffer) -> dict[str, np.ndarray] | None:
    """A plain replay buffer's float32 arrays as (buffer index * n_envs + env index, -1) views, else None."""
    if type(buffer) is not ReplayBuffer or buffer.optimize_memory_usage:
        return None
    arrays = {"obs": buffer.observations, "next_obs": buffer.next_observations, "actions": buffer.actions,
              "rewards": buffer.rewards, "dones": buffer.dones, "timeouts": buffer.timeouts}
    if any(a.dtype != np.float32 for a in arrays.values()):
        return None
    rows = buffer.buffer_size * buffer.n_envs
    return {k: a.reshape(rows, -1) for k, a in arrays.items()}


class FastSAC(SAC):
    """SB3's SAC whose ``train`` runs the same update with less overhead (see the module's docstring)."""

    _fast: dict | None = None
    _acting: tuple | None = None  # (the actor, its layers or None: SB3's predict), for predict

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_fast", "_acting"]

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        """SB3's ``predict``, the same actions from the same torch draws, without its per-call overhead (the
        distribution objects, the walk over the modules to set eval mode, which a Linear/ReLU actor ignores).
        Other policies and observations go to SB3's own."""
        layers = self._actor_layers()
        space = self.observation_space
        obs = observation if isinstance(observation, np.ndarray) else None
        if layers is None or obs is None or obs.dtype.kind != "f" or obs.shape[-1:] != space.shape or obs.ndim > 2:
            return super().predict(observation, state, episode_start, deterministic)
        with torch.inference_mode():
            batch = torch.as_tensor(obs, device=self.device).float().reshape(-1, space.shape[0])
            action = actor_action(*layers, batch, deterministic)
        actions = self.policy.unscale_action(action.cpu().numpy())
        return (actions[0] if obs.ndim == 1 else actions), state

    def _actor_layers(self) -> tuple | None:
        """The actor's (body Linears, mean Linear, log-std Linear) when ``actor_action`` computes its actions."""
        actor = self.actor
        if self._acting is None or self._acting[0] is not actor:
            latent = mlp_linears(actor.latent_pi, ends_in_relu=True)
            space = self.observation_space
            fits = (latent is not None and not self.use_sde and self.policy.squash_output and
                    type(actor.features_extractor) is FlattenExtractor and type(actor.mu) is torch.nn.Linear and
                    type(actor.log_std) is torch.nn.Linear and isinstance(space, spaces.Box) and len(space.shape) == 1
                    and isinstance(self.action_space, spaces.Box))
            self._acting = (actor, (latent, actor.mu, actor.log_std) if fits else None)
        return self._acting[1]

    def _fast_state(self, batch_size: int) -> dict | None:
        """The flat layouts and buffers of the fast path, built on first use (None: use SB3's train)."""
        state = self._fast
        if state is not None and "problem" not in state and state["batch_size"] == batch_size and \
                state["buffer"] is self.replay_buffer and state["actor"].still_bound(self.actor.optimizer) and \
                state["critic"].still_bound(self.critic.optimizer) and state["target"].still_bound():
            return state
        problem = fast_path_problem(self)
        if problem is not None:
            if state is None or state.get("problem") != problem:
                logger.info("FastSAC uses SB3's SAC.train: the fast path does not cover %s", problem)
            self._fast = {"problem": problem, "batch_size": batch_size, "buffer": self.replay_buffer}
            return None
        actor = self.actor
        latent = mlp_linears(actor.latent_pi, ends_in_relu=True)
        actor_group = FlatGroup.bind([*actor_specs(latent, actor.mu, actor.log_std),
                                      ((1,), [(self.log_ent_coef, lambda leaf: leaf)])],
                                     (actor.optimizer, self.ent_coef_optimizer))
        critic = FlatGroup.bind(critic_specs(self.critic.q_networks), (self.critic.optimizer,))
        target = FlatGroup.bind(critic_specs(self.critic_target.q_networks))
        obs_dim, action_dim = actor.latent_pi[0].in_features if latent else actor.mu.in_features, actor.mu.out_features
        self._fast = {"batch_size": batch_size, "buffer": self.replay_buffer, "actor": actor_group,
                      "critic": critic, "target": target, "arrays": _buffer_arrays(self.replay_buffer),
                      "batch": _Batch(batch_size, obs_dim, action_dim)}
        return self._fast

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        state = self._fast_state(batch_size)
        if state is None:
            super().train(gradient_steps, batch_size)
            return
        # SB3 sets train mode here; the update below calls no module (Linear and ReLU only), so it is left as is
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer, self.ent_coef_optimizer])
        group = self.actor.optimizer.param_groups[0]
        lrs = {g["lr"] for opt in (self.critic.optimizer, self.ent_coef_optimizer) for g in opt.param_groups}
        if lrs != {group["lr"]}:  # a schedule set by hand on one optimizer: SB3's way
            super().train(gradient_steps, batch_size)
            return
        adam = {"lr": group["lr"], "beta1": group["betas"][0], "beta2": group["betas"][1], "eps": group["eps"]}
        stats = torch.zeros(gradient_steps, 4)
        with torch.inference_mode():  # no autograd bookkeeping at all (the buffers were made outside it)
            for step in range(gradient_steps):
                self._sample(state, batch_size)
                self._gradient_step(state, adam, stats[step])
                if step % self.target_update_interval == 0:
                    state["target"].flat.lerp_(state["critic"].flat, self.tau)
        for name in ("actor", "critic"):
            state[name].sync_steps()
        self._n_updates += gradient_steps
        critic_loss, actor_loss, ent_coef_loss, ent_coef = stats.mean(0).tolist()
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", ent_coef)
        self.logger.record("train/actor_loss", actor_loss)
        self.logger.record("train/critic_loss", critic_loss)
        self.logger.record("train/ent_coef_loss", ent_coef_loss)

    def _sample(self, state: dict, batch_size: int) -> None:
        """Fill ``state["batch"]`` with what ``replay_buffer.sample`` would return (the same NumPy draws)."""
        batch, arrays, buffer = state["batch"], state["arrays"], self.replay_buffer
        if arrays is None:  # another buffer type: its own sample, copied in
            data = buffer.sample(batch_size, env=self._vec_normalize_env)
            batch.obs2[:batch_size].copy_(data.observations)
            batch.obs2[batch_size:].copy_(data.next_observations)
            batch.actions.copy_(data.actions)
            batch.rewards.copy_(data.rewards)
            discounts = data.discounts if data.discounts is not None else self.gamma
            torch.mul(1 - data.dones, discounts, out=batch.not_done)
            return
        batch_inds = np.random.randint(0, buffer.buffer_size if buffer.full else buffer.pos, size=batch_size)
        env_inds = np.random.randint(0, high=buffer.n_envs, size=batch_size)
        rows = batch_inds * buffer.n_envs + env_inds
        out = batch.np
        np.take(arrays["obs"], rows, axis=0, out=out["obs2"][:batch_size])
        np.take(arrays["next_obs"], rows, axis=0, out=out["obs2"][batch_size:])
        np.take(arrays["actions"], rows, axis=0, out=out["actions"])
        np.take(arrays["rewards"], rows, axis=0, out=out["rewards"])
        # SB3 keeps the dones that are not timeouts
        np.multiply(1 - arrays["dones"][rows] * (1 - arrays["timeouts"][rows]), self.gamma, out=out["not_done"])

    def _gradient_step(self, state: dict, adam: dict, stats: torch.Tensor) -> None:
        """One SAC update on ``state["batch"]``: entropy coefficient, critics, then actor (SB3's order)."""
        batch, actor, critic = state["batch"], state["actor"], state["critic"]
        size = batch.actions.shape[0]
        for eps in batch.eps_pair:  # SB3 draws the current observations' noise first, then the next ones'
            eps.normal_()
        run = actor_forward(actor.leaves[:-1], batch.obs2, batch.eps2)
        log_prob = run["log_prob"]
        log_prob_pi = log_prob[:size]
        log_ent_coef = actor.leaves[-1]
        ent_coef = log_ent_coef.exp()
        # the entropy coefficient's loss -(log_alpha * (log_prob + target_entropy)).mean() is linear in it
        torch.neg(log_prob_pi.mean().add(self.target_entropy), out=actor.grads[-1].view(()))
        ent_coef_loss = log_ent_coef * actor.grads[-1]
        next_in = torch.cat([batch.next_obs, run["action"][size:]], dim=1)
        next_q = ensemble_forward(state["target"].leaves, next_in)[-1].amin(0) - ent_coef * log_prob[size:]
        target_q = torch.addcmul(batch.rewards, batch.not_done, next_q)
        torch.cat([batch.obs, batch.actions], dim=1, out=batch.critic_in)
        acts = ensemble_forward(critic.leaves, batch.critic_in)
        error = acts[-1] - target_q
        critic_loss = error.square().mean() * (0.5 * error.shape[0])  # SB3: 0.5 * sum of the critics' MSEs
        ensemble_backward(critic.leaves, acts, error.div_(size), critic.grads)
        critic.adam_step(**adam)
        actions_pi = run["action"][:size]
        acts = ensemble_forward(critic.leaves, torch.cat([batch.obs, actions_pi], dim=1))
        min_q, argmin = acts[-1].min(0)
        actor_loss = (ent_coef * log_prob_pi - min_q).mean()
        grad_q = torch.zeros_like(acts[-1]).scatter_(0, argmin.unsqueeze(0), -1.0 / size)
        grad_action = ensemble_backward(critic.leaves, acts, grad_q, last_inputs=actions_pi.shape[1])
        actor_backward(actor.leaves[:-1], run, size, grad_action, ent_coef / size, actor.grads[:-1])
        actor.adam_step(**adam)
        torch.cat([critic_loss.view(1), actor_loss.view(1), ent_coef_loss, ent_coef], out=stats)
