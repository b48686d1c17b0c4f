"""The scalar demo of NNDL 1.3: ``exp(a·b + c·d)`` built from Add, Multiply and Exp ops,
whose backward passes walk the graph in reverse with the chain rule."""

import torch
from torch import Tensor


class Multiply:
    """``a·b``; ∂/∂a = b, ∂/∂b = a."""

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: Tensor) -> tuple[Tensor, Tensor]:
        return grad * self.b, grad * self.a


class Add:
    """``a + b``; ∂/∂a = ∂/∂b = 1."""

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b

    def backward(self, grad: Tensor) -> tuple[Tensor, Tensor]:
        return grad, grad


class Exp:
    """``e^x``; ∂/∂x = e^x, the output itself."""

    def forward(self, x: Tensor) -> Tensor:
        self.y = torch.exp(x)
        return self.y

    def backward(self, grad: Tensor) -> Tensor:
        return grad * self.y


def exp_of_products(a: float, b: float, c: float, d: float) -> tuple[float, dict[str, float]]:
    """``exp(a·b + c·d)`` and its gradient with respect to a, b, c and d."""
    ab, cd, total, exp = Multiply(), Multiply(), Add(), Exp()
    values = [torch.tensor(float(v), dtype=torch.float64) for v in (a, b, c, d)]
    y = exp.forward(
        total.forward(ab.forward(values[0], values[1]), cd.forward(values[2], values[3]))
    )
    grad_sum = exp.backward(torch.tensor(1.0, dtype=torch.float64))
    grad_ab, grad_cd = total.backward(grad_sum)
    grads = (*ab.backward(grad_ab), *cd.backward(grad_cd))
    return float(y), {name: float(g) for name, g in zip("abcd", grads, strict=True)}
