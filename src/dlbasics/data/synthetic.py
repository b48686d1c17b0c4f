"""Synthetic data sets generated from a seed, each keeping its ground truth."""

from collections.abc import Sequence

import torch
from torch import Tensor

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset, require_positive
from dlbasics.errors import ConfigError


class SyntheticLinearDataModule(InMemoryDataModule):
    """``y = X w + b + N(0, noise²)``, ``X ~ N(0, 1)``; ``true_w``/``true_b`` kept for checks."""

    def __init__(
        self,
        true_w: Sequence[float] = (2.0, -3.4),
        true_b: float = 4.2,
        noise: float = 0.01,
        num_train: int = 1000,
        num_val: int = 200,
        num_test: int = 200,
        seed: int = 0,
        **loader_kwargs,
    ) -> None:
        super().__init__(**loader_kwargs)
        if noise < 0:
            raise ConfigError(f"data.noise must be >= 0, got {noise}")
        if len(true_w) == 0:
            raise ConfigError("data.true_w must hold at least one weight")
        require_positive("data.num_train", num_train)
        for key, value in (("data.num_val", num_val), ("data.num_test", num_test)):
            require_positive(key, value)
        self.true_w = torch.tensor(list(true_w), dtype=torch.float32)
        self.true_b = float(true_b)
        self.noise = noise
        self.sizes = (num_train, num_val, num_test)
        self.seed = seed

    @property
    def num_features(self) -> int:
        return len(self.true_w)

    def true_function(self, x: Tensor) -> Tensor:
        return x @ self.true_w + self.true_b

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        generator = torch.Generator().manual_seed(self.seed)
        x = torch.randn(sum(self.sizes), self.num_features, generator=generator)
        y = self.true_function(x) + self.noise * torch.randn(len(x), generator=generator)
        parts = torch.split(torch.arange(len(x)), list(self.sizes))
        self.train_set, self.val_set, self.test_set = (
            TensorBatchDataset(x[idx], y[idx].unsqueeze(1)) for idx in parts
        )
