"""Flat parameter layouts for ``fast_sac``: SB3's SAC parameters moved into one buffer per optimizer.

SB3's own parameter objects stay (their ``.data`` becomes a view of the buffer), so ``state_dict``,
``save`` and ``SAC.load`` see the usual tensors; the fast update works on stacked views of the same
buffer (both critics as one ensemble) and runs Adam and Polyak averaging on whole buffers at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

# A leaf of the fast update: its shape, and the SB3 parameters that are views of it (param, leaf -> view).
LeafSpec = tuple[tuple[int, ...], list[tuple[nn.Parameter, Callable[[torch.Tensor], torch.Tensor]]]]


def _strided_like(flat: torch.Tensor, view: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """The view of ``other`` (a buffer shaped like ``flat``) that ``view`` is of ``flat``."""
    return other.as_strided(view.size(), view.stride(), view.storage_offset() - flat.storage_offset())


@dataclass
class FlatGroup:
    """One optimizer's parameters in one buffer: the fast update's leaves (views of ``flat``), their
    gradients (views of ``grad``) and Adam's moments, kept as the SB3 optimizers' own state."""

    flat: torch.Tensor
    grad: torch.Tensor
    exp_avg: torch.Tensor
    exp_avg_sq: torch.Tensor
    step: torch.Tensor  # Adam's step count for the whole buffer
    leaves: list[torch.Tensor]
    grads: list[torch.Tensor]  # the leaves' gradients
    params: list[nn.Parameter]  # SB3's parameters, views of ``flat``
    param_steps: list[torch.Tensor]  # the per-parameter step counts SB3's optimizers keep

    @classmethod
    def bind(cls, specs: Sequence[LeafSpec], optimizers: Sequence[torch.optim.Optimizer] = ()) -> FlatGroup:
        """Copy the parameters named by ``specs`` into a new buffer and make them views of it; with
        ``optimizers``, their Adam state too (moments and step count carried over when present)."""
        sizes = [int(torch.Size(shape).numel()) for shape, _ in specs]
        first = specs[0][1][0][0]
        flat = torch.zeros(sum(sizes), dtype=first.dtype, device=first.device)
        grad, exp_avg, exp_avg_sq = (torch.zeros_like(flat) for _ in range(3))
        leaves, grads, params, offset = [], [], [], 0
        with torch.no_grad():
            for (shape, members), size in zip(specs, sizes, strict=True):
                plain = flat[offset:offset + size].view(shape)
                for param, view_of in members:
                    view = view_of(plain)
                    view.copy_(param.data)
                    param.data = view
                    param.grad = None
                    params.append(param)
                leaves.append(plain)
                grads.append(grad[offset:offset + size].view(shape))
                offset += size
        group = cls(flat, grad, exp_avg, exp_avg_sq, torch.zeros((), dtype=torch.float32), leaves, grads,
                    params, [])
        group._adopt_state(optimizers)
        return group

    def _adopt_state(self, optimizers: Sequence[torch.optim.Optimizer]) -> None:
        """Make each optimizer's state of our parameters views of our moments (copying what it had)."""
        for optimizer in optimizers:
            for param in (p for g in optimizer.param_groups for p in g["params"]):
                old = optimizer.state.get(param, {})
                avg, avg_sq = (_strided_like(self.flat, param.data, b) for b in (self.exp_avg, self.exp_avg_sq))
                if "exp_avg" in old:
                    avg.copy_(old["exp_avg"])
                    avg_sq.copy_(old["exp_avg_sq"])
                    self.step.fill_(float(old["step"]))
                step = torch.zeros((), dtype=torch.float32, device=param.device)
                optimizer.state[param] = {"step": step, "exp_avg": avg, "exp_avg_sq": avg_sq}
                self.param_steps.append(step)
        for step in self.param_steps:
            step.fill_(float(self.step))

    def still_bound(self, optimizer: torch.optim.Optimizer | None = None) -> bool:
        """Whether SB3's first parameter is still a view of the buffer (and its optimizer state ours)."""
        param = self.params[0]
        if param.data.untyped_storage().data_ptr() != self.flat.untyped_storage().data_ptr():
            return False
        if optimizer is None:
            return True
        state = optimizer.state.get(param, {})
        return state.get("step") is self.param_steps[0] and state.get("exp_avg") is not None and \
            state["exp_avg"].untyped_storage().data_ptr() == self.exp_avg.untyped_storage().data_ptr()

    def adam_step(self, lr: float, beta1: float, beta2: float, eps: float) -> None:
        """One Adam step of the whole buffer (PyTorch's fused kernel: the update of ``Adam(fused=True)``)."""
        self.step.add_(1)
        torch._fused_adam_([self.flat], [self.grad], [self.exp_avg], [self.exp_avg_sq], [], [self.step], lr=lr,
                           beta1=beta1, beta2=beta2, weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)

    def sync_steps(self) -> None:
        """Give SB3's per-parameter step counts the buffer's (they are what ``save`` writes)."""
        if self.param_steps:
            torch._foreach_copy_(self.param_steps, [self.step] * len(self.param_steps))


def mlp_linears(sequential: nn.Module, ends_in_relu: bool = False) -> list[nn.Linear] | None:
    """The Linear layers of an MLP alternating Linear and ReLU layers, else None; it ends in a Linear
    (a critic) or, with ``ends_in_relu``, in a ReLU (SB3's actor body)."""
    layers = list(sequential)
    linears, relus = layers[0::2], layers[1::2]
    if len(layers) % 2 != (0 if ends_in_relu else 1) or (not linears and not ends_in_relu):
        return None
    if all(type(m) is nn.Linear for m in linears) and all(type(m) is nn.ReLU for m in relus):
        return linears
    return None


def critic_specs(q_networks: Sequence[nn.Module]) -> list[LeafSpec]:
    """Leaves of an ensemble of same-shaped MLP critics: per layer, weights (n, out, in), biases (n, 1, out).

    Each SB3 parameter is a contiguous view (so are the optimizer states saved with it: PyTorch's fused
    Adam, which a loaded agent may use, assumes a parameter and its state share one memory layout)."""
    per_net = [mlp_linears(q) for q in q_networks]
    specs: list[LeafSpec] = []
    for layer in zip(*per_net, strict=True):
        out_f, in_f = layer[0].weight.shape
        specs.append(((len(layer), out_f, in_f), [(m.weight, lambda leaf, i=i: leaf[i]) for i, m in enumerate(layer)]))
        specs.append(((len(layer), 1, out_f), [(m.bias, lambda leaf, i=i: leaf[i, 0]) for i, m in enumerate(layer)]))
    return specs


def actor_specs(latent: Sequence[nn.Linear], mu: nn.Linear, log_std: nn.Linear) -> list[LeafSpec]:
    """Leaves of SB3's actor: its hidden layers, and the mean and log-std heads stacked as one layer."""
    specs: list[LeafSpec] = []
    for m in latent:
        specs.append((tuple(m.weight.shape), [(m.weight, lambda leaf: leaf)]))
        specs.append((tuple(m.bias.shape), [(m.bias, lambda leaf: leaf)]))
    n = mu.out_features
    specs.append(((2 * n, mu.in_features), [(mu.weight, lambda leaf: leaf[:n]), (log_std.weight, lambda leaf: leaf[n:])]))
    specs.append(((2 * n,), [(mu.bias, lambda leaf: leaf[:n]), (log_std.bias, lambda leaf: leaf[n:])]))
    return specs
