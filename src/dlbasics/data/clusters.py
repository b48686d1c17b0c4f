"""Two-dimensional classification sets for shallow models and decision-boundary figures."""

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from dlbasics.data.generated import GeneratedDataModule
from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_non_negative


class ClusterDataModule(GeneratedDataModule):
    """Points in the plane with integer class labels; ``sample`` returns them shuffled."""

    num_features = 2

    def class_counts(self, n: int) -> list[int]:
        """An even split of ``n`` over the classes; the first classes get the remainder."""
        k = self.num_classes
        return [n // k + (1 if c < n % k else 0) for c in range(k)]

    def points(self, label: int, count: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        counts = self.class_counts(n)
        x = torch.cat([self.points(c, m, generator) for c, m in enumerate(counts)])
        y = torch.cat([torch.full((m,), c, dtype=torch.long) for c, m in enumerate(counts)])
        x = x + self.noise * torch.randn(x.shape, generator=generator)
        order = torch.randperm(n, generator=generator)
        return x[order], y[order]


class MoonsDataModule(ClusterDataModule):
    """Two interleaving half circles (as scikit-learn's ``make_moons``), Gaussian noise on both
    coordinates; class 0 is the upper moon."""

    num_classes = 2
    class_names = ["upper", "lower"]

    def __init__(
        self,
        noise: float = 0.5,
        num_train: int = 640,
        num_val: int = 160,
        num_test: int = 200,
        **kwargs,
    ) -> None:
        super().__init__(num_train, num_val, num_test, noise, **kwargs)

    def points(self, label: int, count: int, generator: torch.Generator) -> Tensor:
        angle = torch.linspace(0, math.pi, count)
        if label == 0:
            return torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
        return torch.stack([1 - torch.cos(angle), 0.5 - torch.sin(angle)], dim=1)


class BlobsDataModule(ClusterDataModule):
    """``len(centers)`` Gaussian clusters with standard deviation ``cluster_std``."""

    def __init__(
        self,
        centers: Sequence[Sequence[float]] = (
            (-1.25, -1.25),
            (1.25, -1.25),
            (-1.25, 1.25),
            (1.25, 1.25),
        ),
        cluster_std: float = 0.8,
        num_train: int = 640,
        num_val: int = 160,
        num_test: int = 200,
        **kwargs,
    ) -> None:
        cluster_std = require_non_negative("data.cluster_std", cluster_std)  # noise, by name
        super().__init__(num_train, num_val, num_test, cluster_std, **kwargs)
        self.centers = torch.tensor([list(c) for c in centers], dtype=torch.float32)
        if self.centers.ndim != 2 or self.centers.shape[1] != 2 or len(self.centers) < 2:
            raise ConfigError(
                f"data.centers must be a list of at least two [x, y] points, got {list(centers)}"
            )
        self.num_classes = len(self.centers)
        self.class_names = [f"blob{c}" for c in range(self.num_classes)]

    def points(self, label: int, count: int, generator: torch.Generator) -> Tensor:
        return self.centers[label].expand(count, 2).clone()
