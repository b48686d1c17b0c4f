"""Regression data sets of the textbooks, each with its known true function.

linear is d2l's synthetic regression (3.1-3.3), and with more features than
training samples (``data=high_dim``) the weight-decay example (4.5); house_price
and trapezoid are the book's first linear and MLP examples; polynomial and sin
show under- and overfitting (d2l 4.4, NNDL 2.3).
"""

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from dlbasics.data.generated import CurveDataModule
from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_non_negative, require_positive_integer


class LinearDataModule(CurveDataModule):
    """``y = X w + b + N(0, noise²)``, ``X ~ N(0, 1)``; ``true_w``/``true_b`` kept for checks.

    ``true_w`` lists the weights, or is one number given to each of ``num_features``
    features (``data=high_dim``: 200 weights of 0.01).
    """

    def __init__(
        self,
        true_w: Sequence[float] | float = (2.0, -3.4),
        true_b: float = 4.2,
        num_features: int | None = None,
        noise: float = 0.01,
        num_train: int = 1000,
        num_val: int = 200,
        num_test: int = 200,
        **kwargs,
    ) -> None:
        super().__init__(num_train, num_val, num_test, noise, **kwargs)
        if isinstance(true_w, (int, float)):
            if num_features is None:
                raise ConfigError("data.true_w is one number: set data.num_features too")
            weights = [float(true_w)] * require_positive_integer("data.num_features", num_features)
        else:
            weights = [float(w) for w in true_w]
            if not weights:
                raise ConfigError("data.true_w must hold at least one weight")
            if num_features not in (None, len(weights)):
                raise ConfigError(
                    f"data.num_features={num_features} but data.true_w lists {len(weights)} "
                    f"weights; set data.num_features=null or give one number as data.true_w"
                )
        self.true_w = torch.tensor(weights)
        self.true_b = float(true_b)

    @property
    def num_features(self) -> int:
        return len(self.true_w)

    def sample_inputs(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.randn(n, self.num_features, generator=generator)

    def true_function(self, x: Tensor) -> Tensor:
        return x @ self.true_w + self.true_b


class HousePriceDataModule(CurveDataModule):
    """One feature (house size) ``x ~ N(mean, std²)``, price ``y = slope·x + bias + noise``."""

    def __init__(
        self,
        slope: float = 2.8,
        bias: float = 0.0,
        x_mean: float = 5.0,
        x_std: float = 1.0,
        noise: float = 0.5,
        num_train: int = 100,
        num_val: int = 20,
        num_test: int = 20,
        **kwargs,
    ) -> None:
        super().__init__(num_train, num_val, num_test, noise, **kwargs)
        self.slope, self.bias = float(slope), float(bias)
        self.x_mean = float(x_mean)
        self.x_std = require_non_negative("data.x_std", x_std)

    num_features = 1

    def sample_inputs(self, n: int, generator: torch.Generator) -> Tensor:
        return self.x_mean + self.x_std * torch.randn(n, 1, generator=generator)

    def true_function(self, x: Tensor) -> Tensor:
        return self.slope * x[:, 0] + self.bias


class TrapezoidDataModule(CurveDataModule):
    """Bases ``x1, x2 ~ U[low, high)``, height ``x1``: area ``y = (x1 + x2)·x1 / 2``."""

    def __init__(
        self,
        low: float = 0.5,
        high: float = 1.5,
        noise: float = 0.0,
        num_train: int = 50,
        num_val: int = 20,
        num_test: int = 20,
        **kwargs,
    ) -> None:
        super().__init__(num_train, num_val, num_test, noise, **kwargs)
        require_non_negative("data.low", low)  # a base of a trapezoid is a length
        if not high > low:
            raise ConfigError(f"data.high must be above data.low, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    num_features = 2

    def sample_inputs(self, n: int, generator: torch.Generator) -> Tensor:
        return self.low + (self.high - self.low) * torch.rand(n, 2, generator=generator)

    def true_function(self, x: Tensor) -> Tensor:
        return 0.5 * (x[:, 0] + x[:, 1]) * x[:, 0]


class PolynomialDataModule(CurveDataModule):
    """``x ~ N(0, 1)``, ``y = Σ_i c_i x^i / i! + noise`` (d2l 4.4: c = [5, 1.2, -3.4, 5.6]).

    Inputs stay the raw ``x`` (one column); the polynomial features are made by
    the net (``PolynomialRegression``), so one data set serves every degree and
    a figure can plot the fit against ``x``.
    """

    def __init__(
        self,
        true_coefficients: Sequence[float] = (5.0, 1.2, -3.4, 5.6),
        noise: float = 0.1,
        num_train: int = 100,
        num_val: int = 100,
        num_test: int = 100,
        **kwargs,
    ) -> None:
        super().__init__(num_train, num_val, num_test, noise, **kwargs)
        if len(true_coefficients) == 0:
            raise ConfigError("data.true_coefficients must hold at least one coefficient")
        self.true_coefficients = torch.tensor(list(true_coefficients), dtype=torch.float32)

    num_features = 1

    def sample_inputs(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.randn(n, 1, generator=generator)

    def true_function(self, x: Tensor) -> Tensor:
        powers = torch.arange(len(self.true_coefficients), dtype=torch.float32)
        scale = torch.tensor([math.factorial(int(i)) for i in powers], dtype=torch.float32)
        return (x[:, :1] ** powers / scale) @ self.true_coefficients


class SinDataModule(CurveDataModule):
    """``x ~ U[0, 1)``, ``y = sin(2πx) + noise`` with very few points (NNDL 2.3)."""

    def __init__(
        self,
        noise: float = 0.1,
        num_train: int = 15,
        num_val: int = 10,
        num_test: int = 10,
        **kwargs,
    ) -> None:
        super().__init__(num_train, num_val, num_test, noise, **kwargs)

    num_features = 1

    def sample_inputs(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.rand(n, 1, generator=generator)

    def true_function(self, x: Tensor) -> Tensor:
        return torch.sin(2 * math.pi * x[:, 0])
