"""Optimizers written out: each ``step`` is the update rule of its docstring, on the
gradients in ``param.grad``, with every hyperparameter honoured and torch.optim's
semantics (so a test can run each beside its torch twin and compare trajectories).

They subclass ``torch.optim.Optimizer`` only for its bookkeeping (parameter groups and a
``state_dict`` that checkpoints hold); none calls torch's update code. Two mistakes of the
books are not copied: their versions hard-code ε, β or ρ whatever the arguments say, and
their Adam advances one step counter per parameter tensor, so its bias correction fades
far too fast in a net with many tensors. Here every parameter's state counts optimizer
steps.
"""

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from dlbasics.errors import ConfigError, DataError

Params = Iterable[nn.Parameter] | Iterable[dict[str, Any]]


class ScratchOptimizer(Optimizer):
    """Checks every hyperparameter once; ``update`` is the rule for one parameter."""

    def __init__(self, params: Params, **defaults: Any) -> None:
        for name, value in defaults.items():
            values = value if isinstance(value, tuple) else (value,)
            if any(
                not isinstance(v, bool) and isinstance(v, (int, float)) and v < 0 for v in values
            ):
                raise ConfigError(f"{type(self).__name__}: {name} must be >= 0, got {value!r}")
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = closure() if closure is not None else None
        for group_index, group in enumerate(self.param_groups):
            for index, param in enumerate(group["params"]):
                if param.grad is None and not param.requires_grad:
                    continue  # frozen on purpose
                if param.grad is None:
                    raise DataError(
                        f"{type(self).__name__}: parameter {index} of group {group_index} "
                        f"(shape {tuple(param.shape)}) has no gradient; the net's backward did "
                        f"not reach it (freeze it with requires_grad=False if that is meant)"
                    )
                grad = param.grad
                if group.get("weight_decay"):
                    grad = grad + group["weight_decay"] * param  # the L2 penalty's gradient
                self.update(param, grad, self.state[param], group)
        return loss

    def update(self, param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError


class SGD(ScratchOptimizer):
    """``v ← ρ·v + (1 − dampening)·g`` (v = g on the first step), then ``w ← w − lr·v``,
    or ``w ← w − lr·(g + ρ·v)`` with Nesterov; with ρ = 0 plain ``w ← w − lr·g``."""

    def __init__(
        self,
        params: Params,
        lr: float = 0.1,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ConfigError("SGD: nesterov needs momentum > 0 and dampening 0")
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )

    def update(self, param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
        rho = group["momentum"]
        if rho:
            if "velocity" not in state:
                state["velocity"] = grad.clone()
            else:
                state["velocity"] = rho * state["velocity"] + (1 - group["dampening"]) * grad
            grad = grad + rho * state["velocity"] if group["nesterov"] else state["velocity"]
        param -= group["lr"] * grad


class Momentum(SGD):
    """SGD with heavy-ball momentum ρ (default 0.9)."""

    def __init__(
        self,
        params: Params,
        lr: float = 0.01,
        momentum: float = 0.9,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov)


class AdaGrad(ScratchOptimizer):
    """``G ← G + g²``, ``w ← w − lr_t·g / (√G + ε)`` with ``lr_t = lr / (1 + (t − 1)·lr_decay)``."""

    def __init__(
        self,
        params: Params,
        lr: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )

    def update(self, param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = torch.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        rate = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] = state["sum"] + grad * grad
        param -= rate * grad / (state["sum"].sqrt() + group["eps"])


class RMSprop(ScratchOptimizer):
    """``s ← α·s + (1 − α)·g²``, ``w ← w − lr·g / (√s + ε)``; ``centered`` divides by the
    variance estimate √(s − ḡ²) instead, ``momentum`` keeps a velocity of the scaled step."""

    def __init__(
        self,
        params: Params,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )

    def update(self, param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
        alpha = group["alpha"]
        if not state:
            state["square_avg"] = torch.zeros_like(param)
            state["grad_avg"] = torch.zeros_like(param)
            state["velocity"] = torch.zeros_like(param)
        state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * grad * grad
        mean_square = state["square_avg"]
        if group["centered"]:
            state["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * grad
            mean_square = mean_square - state["grad_avg"] ** 2
        scaled = grad / (mean_square.sqrt() + group["eps"])
        if group["momentum"]:
            state["velocity"] = group["momentum"] * state["velocity"] + scaled
            scaled = state["velocity"]
        param -= group["lr"] * scaled


class Adam(ScratchOptimizer):
    """``m ← β1·m + (1 − β1)·g``, ``v ← β2·v + (1 − β2)·g²``, bias-corrected by
    ``1 − β^t`` with t the optimizer step, ``w ← w − lr·m̂ / (√v̂ + ε)``; ``amsgrad`` uses
    the largest v seen so far."""

    def __init__(
        self,
        params: Params,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        betas = tuple(float(b) for b in betas)
        if len(betas) != 2 or not all(b < 1 for b in betas):
            raise ConfigError(f"Adam: betas must be two numbers in [0, 1), got {betas}")
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )

    def update(self, param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["m"], state["v"] = torch.zeros_like(param), torch.zeros_like(param)
            state["v_max"] = torch.zeros_like(param)
        state["step"] += 1
        state["m"] = beta1 * state["m"] + (1 - beta1) * grad
        state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
        v = state["v"]
        if group["amsgrad"]:
            state["v_max"] = torch.maximum(state["v_max"], v)
            v = state["v_max"]
        m_hat = state["m"] / (1 - beta1 ** state["step"])
        v_hat = v / (1 - beta2 ** state["step"])
        param -= group["lr"] * m_hat / (v_hat.sqrt() + group["eps"])


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}
