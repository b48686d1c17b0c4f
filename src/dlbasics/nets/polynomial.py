"""Polynomial regression: a linear layer on the features ``x^i / i!`` of a scalar input."""

import math
import warnings

import torch
from torch import Tensor, nn

from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_integer, require_non_negative


class PolynomialRegression(nn.Module):
    """``y = b + Σ_{1≤i<degree} w_i · x^i / i!`` on an input of shape ``(n, 1)``.

    ``degree`` counts the terms ``x^0 … x^(degree-1)`` as d2l does (its "degree 4"
    is the cubic); the bias plays the constant term, so ``coefficients()`` lines
    up with the data's ``true_coefficients``. Dividing by ``i!`` keeps large
    powers of ``x ~ N(0, 1)`` from dominating the gradient; set
    ``factorial: false`` for plain powers (NNDL's sin fit on ``x ∈ [0, 1]``).
    """

    def __init__(
        self,
        degree: int,
        in_features: int = 1,
        factorial: bool = True,
        init_std: float = 0.01,
    ) -> None:
        super().__init__()
        require_integer("model.net.degree", degree, minimum=1)  # the terms x^0..x^(degree-1)
        if in_features != 1:
            raise ConfigError(
                f"PolynomialRegression takes one input feature, but the data set has "
                f"{in_features}; use data=polynomial or data=sin, or model=linear_regression"
            )
        powers = torch.arange(1, degree, dtype=torch.float32)
        scale = [math.factorial(int(i)) if factorial else 1 for i in powers]
        self.register_buffer("powers", powers)
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        with warnings.catch_warnings():  # degree 1 has no weights, only the bias
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.linear = nn.Linear(degree - 1, 1)
        nn.init.normal_(
            self.linear.weight, std=require_non_negative("model.net.init_std", init_std)
        )
        nn.init.zeros_(self.linear.bias)

    def features(self, x: Tensor) -> Tensor:
        """``x^i / i!`` for ``1 ≤ i < degree``, shape ``(n, degree - 1)``."""
        return x.reshape(-1, 1) ** self.powers / self.scale

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.features(x))

    def coefficients(self) -> Tensor:
        """``[b, w_1, …, w_(degree-1)]``: the fitted ``c_i`` of ``Σ c_i x^i / i!``."""
        return torch.cat([self.linear.bias, self.linear.weight[0]]).detach()
