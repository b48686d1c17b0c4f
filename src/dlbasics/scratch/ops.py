"""Operators that know their own derivative.

``forward`` computes the output and keeps what the derivative needs; ``backward`` takes the
gradient of the final loss with respect to the op's output and returns it with respect to
the op's input, and stores the gradients of the op's own parameters in ``param.grad``
(NNDL's ``Op``). Parameters are ``nn.Parameter`` so checkpoints, ``.to(device)``, the
parameter count and the gradient-norm callbacks see them, but no autograd graph is ever
built: forward runs under ``torch.no_grad()`` and backward is written out.
"""

import itertools
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from dlbasics.errors import DataError
from dlbasics.scratch.init import initialise
from dlbasics.utils.checks import require_positive_integer


class Op(nn.Module):
    """An operator with a hand-written backward; subclasses define ``compute`` and
    ``gradient``."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: tuple[Tensor, ...] | None = None

    def forward(self, *inputs: Tensor) -> Tensor:
        with torch.no_grad():
            return self.compute(*inputs)

    def backward(self, grad: Tensor | None = None) -> Tensor:
        """∂L/∂input from ``grad`` = ∂L/∂output (1 for a loss, whose output is L)."""
        if self.saved is None:
            raise DataError(f"{self}: backward was called before forward")
        with torch.no_grad():
            return self.gradient(torch.ones(()) if grad is None else grad)

    def compute(self, *inputs: Tensor) -> Tensor:
        raise NotImplementedError

    def gradient(self, grad: Tensor) -> Tensor:
        raise NotImplementedError

    def op_parameters(self) -> Iterator[nn.Parameter]:
        return self.parameters(recurse=False)


class Linear(Op):
    """``y = x Wᵀ + b``, with ``W`` of shape ``(out, in)`` as in ``torch.nn.Linear`` so
    weights copy over between the two.

    Backward: ``∂L/∂W = gᵀx``, ``∂L/∂b = Σ_n g``, ``∂L/∂x = g W``.
    """

    def __init__(
        self, in_features: int, out_features: int, init: str = "torch_default", scale: float = 0.01
    ) -> None:
        super().__init__()
        self.in_features = require_positive_integer("in_features", in_features)
        self.out_features = require_positive_integer("out_features", out_features)
        weight, bias = initialise(init, in_features, out_features, scale)
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"

    def compute(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise DataError(
                f"{self}: input of shape {tuple(x.shape)}, expected "
                f"(batch, {self.in_features}); the previous layer's output size "
                f"must equal this layer's in_features"
            )
        self.saved = (x,)
        return x @ self.weight.T + self.bias

    def gradient(self, grad: Tensor) -> Tensor:
        (x,) = self.saved
        # Under mixed precision (autocast) the products run in bfloat16; a parameter's
        # gradient keeps the parameter's dtype, as autograd's would.
        self.weight.grad = (grad.T @ x).to(self.weight.dtype)
        self.bias.grad = grad.sum(0).to(self.bias.dtype)
        return grad @ self.weight


class Activation(Op):
    """An elementwise nonlinearity (the activation-statistics callback watches these)."""


class Sigmoid(Activation):
    """``σ(z) = 1 / (1 + e^-z)``; ``σ'(z) = σ(z)(1 − σ(z))``, computed from the output, which
    is σ of the pre-activation (the PyTorch book's NumPy code applies σ' to the activation
    a = σ(z) itself, σ(a)(1 − σ(a)), which is wrong)."""

    def compute(self, x: Tensor) -> Tensor:
        y = torch.sigmoid(x)
        self.saved = (y,)
        return y

    def gradient(self, grad: Tensor) -> Tensor:
        (y,) = self.saved
        return grad * y * (1 - y)


class Tanh(Activation):
    """``tanh'(z) = 1 − tanh(z)²``."""

    def compute(self, x: Tensor) -> Tensor:
        y = torch.tanh(x)
        self.saved = (y,)
        return y

    def gradient(self, grad: Tensor) -> Tensor:
        (y,) = self.saved
        return grad * (1 - y * y)


class LeakyReLU(Activation):
    """``max(z, 0) + γ·min(z, 0)``; derivative 1 above 0 and γ below (ReLU is γ = 0; at 0
    the derivative is taken as γ, as torch does)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def compute(self, x: Tensor) -> Tensor:
        self.saved = (x > 0,)
        return torch.where(x > 0, x, self.negative_slope * x)

    def gradient(self, grad: Tensor) -> Tensor:
        (positive,) = self.saved
        return torch.where(positive, grad, self.negative_slope * grad)


class ReLU(LeakyReLU):
    def __init__(self) -> None:
        super().__init__(negative_slope=0.0)


class Dropout(Op):
    """Inverted dropout: in training, each unit is kept with probability 1 − p and scaled by
    1 / (1 − p), so evaluation (identity) sees the same expected activation."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise DataError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)

    def compute(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            self.saved = (torch.ones((), dtype=x.dtype, device=x.device),)
            return x
        mask = (torch.rand_like(x) >= self.p).to(x.dtype) / (1 - self.p)
        self.saved = (mask,)
        return x * mask

    def gradient(self, grad: Tensor) -> Tensor:
        (mask,) = self.saved
        return grad * mask


class Sequential(Op):
    """Ops applied in order; backward runs them in reverse (the chain rule). The ops are
    children ``0``, ``1``, … as in ``nn.Sequential``, so a scratch MLP's state_dict has the
    keys of its framework twin and either loads the other's checkpoint."""

    def __init__(self, *ops: Op) -> None:
        super().__init__()
        for index, op in enumerate(ops):
            self.add_module(str(index), op)
        self.ops = list(ops)

    def compute(self, x: Tensor) -> Tensor:
        for op in self.ops:
            x = op(x)  # through __call__, so forward hooks (inspection callbacks) see each op
        self.saved = ()
        return x

    def gradient(self, grad: Tensor) -> Tensor:
        for op in reversed(self.ops):
            if op.saved is None:
                raise DataError(f"{op}: backward was called before forward")
            grad = op.gradient(grad)
        return grad


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU}


def mlp_ops(
    sizes: Sequence[int],
    activation: str,
    dropout: float,
    init: str,
    scale: float,
    activation_kwargs: dict | None = None,
) -> list[Op]:
    """``Linear → activation [→ Dropout]`` between consecutive sizes, a last Linear."""
    if activation not in ACTIVATIONS:
        raise DataError(
            f"model.net.activation={activation!r} is unknown; allowed values: "
            f"{', '.join(ACTIVATIONS)}"
        )
    ops: list[Op] = []
    for index, (width, following) in enumerate(itertools.pairwise(sizes)):
        ops.append(Linear(width, following, init, scale))
        if index < len(sizes) - 2:
            ops.append(ACTIVATIONS[activation](**(activation_kwargs or {})))
            if dropout > 0:
                ops.append(Dropout(dropout))
    return ops


def flatten(x: Tensor) -> Tensor:
    return x.reshape(len(x), -1) if x.ndim != 2 else x
