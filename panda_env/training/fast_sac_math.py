"""The forward and backward passes of SAC's networks, written out for ``fast_sac`` (no autograd graph).

For MLPs of Linear and ReLU layers the gradients are a few matrix products per layer; writing them out
skips autograd's graph and engine, which cost more than the arithmetic for 64-unit networks. The
critics run as a batched ensemble: layer weights (n, in, out), biases (n, 1, out) (``critic_specs``).
``tests/training/test_fast_sac.py`` checks these gradients against autograd's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.nn.functional import linear

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # SB3's sac.policies bounds on the log standard deviation
SQUASH_EPS = 1e-6  # SB3's SquashedDiagGaussianDistribution epsilon
HALF_LOG_2PI = math.log(math.sqrt(2 * math.pi))
_relu_backward = torch.ops.aten.threshold_backward


def ensemble_forward(leaves: Sequence[torch.Tensor], inputs: torch.Tensor) -> list[torch.Tensor]:
    """Every layer's input, then the Q-values (n, B, 1), of the critic ensemble at ``inputs`` (B, in)."""
    weights, biases = leaves[0::2], leaves[1::2]
    acts = [inputs.expand(weights[0].shape[0], *inputs.shape)]
    for weight, bias in zip(weights[:-1], biases[:-1], strict=True):
        acts.append(torch.baddbmm(bias, acts[-1], weight.transpose(1, 2)).relu_())
    acts.append(torch.baddbmm(biases[-1], acts[-1], weights[-1].transpose(1, 2)))
    return acts


def ensemble_backward(leaves: Sequence[torch.Tensor], acts: Sequence[torch.Tensor], grad_q: torch.Tensor,
                      grads: Sequence[torch.Tensor] | None = None, last_inputs: int = 0) -> torch.Tensor | None:
    """Back-propagate ``grad_q`` (n, B, 1) through the ensemble run as ``acts``: write the parameters'
    gradients into ``grads`` (shaped like ``leaves``), or, without ``grads``, return the gradient
    (B, last_inputs) of the last ``last_inputs`` inputs (the actions)."""
    weights = leaves[0::2]
    grad = grad_q
    for layer in reversed(range(len(weights))):
        inputs = acts[layer]
        if grads is not None:
            torch.bmm(grad.transpose(1, 2), inputs, out=grads[2 * layer])
            torch.sum(grad, dim=1, keepdim=True, out=grads[2 * layer + 1])
            if layer == 0:
                return None
        if layer == 0:
            return torch.bmm(grad, weights[0][:, :, -last_inputs:]).sum(0)
        grad_in = torch.bmm(grad, weights[layer])
        grad = _relu_backward(grad_in, inputs, 0)
    return None


def actor_forward(leaves: Sequence[torch.Tensor], obs: torch.Tensor, eps: torch.Tensor) -> dict:
    """SB3's squashed Gaussian actor at ``obs`` with the standard normal noise ``eps``: its layers' inputs,
    the log-std (raw and clamped), the noise scaled, the squashed action and its log-probability (B, 1)."""
    acts = [obs]
    for i in range(0, len(leaves) - 2, 2):
        acts.append(linear(acts[-1], leaves[i], leaves[i + 1]).relu_())
    mean, raw_log_std = linear(acts[-1], leaves[-2], leaves[-1]).chunk(2, dim=1)
    log_std = raw_log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
    noise = eps * log_std.exp()
    action = torch.add(mean, noise).tanh_()
    one_minus_sq = 1 - action.square()
    squash = torch.add(one_minus_sq, SQUASH_EPS)
    log_prob = (-0.5 * eps.square() - log_std - HALF_LOG_2PI).sum(1, keepdim=True) - squash.log().sum(1, keepdim=True)
    return {"acts": acts, "raw_log_std": raw_log_std, "log_std": log_std, "noise": noise, "action": action,
            "one_minus_sq": one_minus_sq, "squash": squash, "log_prob": log_prob}


def actor_backward(leaves: Sequence[torch.Tensor], run: dict, rows: int, grad_action: torch.Tensor,
                   grad_log_prob: torch.Tensor, grads: Sequence[torch.Tensor]) -> None:
    """Write into ``grads`` the gradients of a loss whose gradients with respect to the first ``rows``
    actions and log-probabilities of ``run`` (from ``actor_forward``) are ``grad_action`` (rows, A) and
    ``grad_log_prob`` (a scalar tensor, the same for every row)."""
    action, one_minus_sq, squash = run["action"][:rows], run["one_minus_sq"][:rows], run["squash"][:rows]
    # the log-probability's squash term -sum(log(1 - a^2 + eps)) depends on the action too
    grad_a = torch.addcmul(grad_action, action / squash, grad_log_prob.mul(2))
    grad_u = grad_a.mul_(one_minus_sq)  # tanh
    # u = mean + eps * exp(log_std); the Gaussian term of the log-probability adds -1 per log-std
    grad_log_std = (grad_u * run["noise"][:rows]).sub_(grad_log_prob)
    grad_log_std.mul_(run["log_std"][:rows] == run["raw_log_std"][:rows])  # clamp: no gradient where it bit
    grad = torch.cat([grad_u, grad_log_std], dim=1)
    for layer in reversed(range(len(leaves) // 2)):
        inputs = run["acts"][layer][:rows]
        torch.mm(grad.t(), inputs, out=grads[2 * layer])
        torch.sum(grad, dim=0, out=grads[2 * layer + 1])
        if layer:
            grad = _relu_backward(torch.mm(grad, leaves[2 * layer]), inputs, 0)


def actor_action(latent: Sequence[torch.nn.Linear], mu: torch.nn.Linear, log_std: torch.nn.Linear, obs: torch.Tensor,
                 deterministic: bool) -> torch.Tensor:
    """SB3's squashed Gaussian actor's action at ``obs`` (B, obs), in [-1, 1]: ``tanh(mean)`` when
    ``deterministic``, else a sample drawing its noise as ``torch.distributions.Normal.rsample`` does (the same
    draw from torch's generator, the same operations), without building the distribution objects."""
    hidden = obs
    for layer in latent:
        hidden = linear(hidden, layer.weight, layer.bias).relu_()
    mean = linear(hidden, mu.weight, mu.bias)
    if deterministic:
        return mean.tanh_()
    # SB3's std is ones_like(mean) * exp(log_std): the same numbers (x * 1.0 == x)
    std = linear(hidden, log_std.weight, log_std.bias).clamp_(LOG_STD_MIN, LOG_STD_MAX).exp_()
    eps = torch.empty(mean.shape, dtype=mean.dtype, device=mean.device).normal_()
    return (mean + eps * std).tanh_()
