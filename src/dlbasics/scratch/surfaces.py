"""Two-variable functions with their gradients written out, for optimizer paths."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Surface:
    """``value(w)`` and its gradient ``gradient(w)`` for ``w`` of shape ``(2,)``."""

    name: str
    formula: str
    value: Callable[[Tensor], Tensor]
    gradient: Callable[[Tensor], Tensor]


def _stack(a: Tensor, b: Tensor) -> Tensor:
    return torch.stack([a, b])


BOWL = Surface(
    "bowl",
    "w1² + w2² + 2·w2 + 5",
    lambda w: w[0] ** 2 + w[1] ** 2 + 2 * w[1] + 5,
    lambda w: _stack(2 * w[0], 2 * w[1] + 2),
)
ELLIPSE = Surface(
    "ellipse",
    "0.2·x1² + 2·x2²",
    lambda w: 0.2 * w[0] ** 2 + 2 * w[1] ** 2,
    lambda w: _stack(0.4 * w[0], 4 * w[1]),
)
# A local minimum at (0, 0) (Hessian [[2, 1], [1, 2]], positive definite), a saddle at
# (0.25, −0.5) (Hessian [[2, 1], [1, −1]]), and no global minimum: x2³ → −∞.
CUBIC = Surface(
    "cubic",
    "x1² + x2² + x2³ + x1·x2",
    lambda w: w[0] ** 2 + w[1] ** 2 + w[1] ** 3 + w[0] * w[1],
    lambda w: _stack(2 * w[0] + w[1], 2 * w[1] + 3 * w[1] ** 2 + w[0]),
)
SURFACES = {s.name: s for s in (BOWL, ELLIPSE, CUBIC)}
