"""The part every seeded, generated data set shares: sizes, noise, seed and the split.

A subclass only says how ``n`` samples are drawn. Drawing all splits from one
generator seeded by ``data.seed`` makes a data set the same on every run and
every process, independent of the top-level ``seed`` that drives model init.
"""

import torch
from torch import Tensor

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset, generated_split_sizes
from dlbasics.utils.checks import require_non_negative


class GeneratedDataModule(InMemoryDataModule):
    """``num_train``/``num_val``/``num_test`` samples drawn in ``setup`` from ``data.seed``."""

    def __init__(
        self,
        num_train: int,
        num_val: int,
        num_test: int,
        noise: float,
        seed: int = 0,
        **loader_kwargs,
    ) -> None:
        super().__init__(**loader_kwargs)
        self.noise = require_non_negative("data.noise", noise)
        self.sizes = generated_split_sizes(num_train, num_val, num_test)
        self.seed = seed

    @property
    def sample_seed(self) -> int:
        """The seed of the generator that draws the samples (sets whose ground truth is
        itself random draw it from ``seed`` and their samples from another stream)."""
        return self.seed

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` inputs and their targets; the order is random, the split takes consecutive runs."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        generator = torch.Generator().manual_seed(self.sample_seed)
        x, y = self.sample(sum(self.sizes), generator)
        parts = torch.split(torch.arange(len(x)), list(self.sizes))
        self.train_set, self.val_set, self.test_set = (
            TensorBatchDataset(x[idx], y[idx]) for idx in parts
        )


class CurveDataModule(GeneratedDataModule):
    """Regression on ``y = true_function(x) + N(0, noise²)``; targets have shape ``(n, 1)``.

    ``true_function`` stays available so tests and figures compare the fit
    with the truth rather than with noisy samples.
    """

    def sample_inputs(self, n: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def true_function(self, x: Tensor) -> Tensor:
        """Noise-free target of inputs ``x`` of shape ``(n, num_features)``; shape ``(n,)``."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        x = self.sample_inputs(n, generator)
        y = self.true_function(x) + self.noise * torch.randn(n, generator=generator)
        return x, y.unsqueeze(1)
