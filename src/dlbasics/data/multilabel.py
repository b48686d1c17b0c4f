"""Multilabel data sets: targets are 0/1 vectors, one entry per label, any number set.

``MultilabelSyntheticDataModule`` draws Gaussian features and sets label l when
a noisy linear score ``x·w_l + b_l`` is positive (the label with the highest
score is always set, so every sample has 1..L labels); ``true_w``/``true_b``
are kept as the ground truth.

``VisionMultilabelDataModule`` places 1..``max_digits`` MNIST (or Fashion-MNIST)
images side by side on a ``28 x 28*max_digits`` canvas, empty slots left black;
the target is the set of classes shown. Composites are drawn from the splits of
the wrapped :class:`VisionDataModule`, so validation images come only from its
validation part and test images only from the official test file.
"""

import math
from typing import Any

import torch
from torch import Tensor

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset
from dlbasics.data.generated import GeneratedDataModule
from dlbasics.data.vision import IMAGE_SHAPE, FashionMNISTDataModule, MNISTDataModule
from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_choice, require_positive_integer

BASES = {"mnist": MNISTDataModule, "fashion_mnist": FashionMNISTDataModule}


class MultilabelSyntheticDataModule(GeneratedDataModule):
    """``n x num_features`` Gaussian inputs, ``num_labels`` linear-threshold labels.

    The ground truth (``true_w``, ``true_b``) is drawn from ``data.seed``, the samples
    from ``data.seed + 1``.
    """

    def __init__(
        self,
        num_features: int = 20,
        num_labels: int = 5,
        noise: float = 0.1,
        num_train: int = 640,
        num_val: int = 160,
        num_test: int = 200,
        seed: int = 0,
        **loader_kwargs: Any,
    ) -> None:
        super().__init__(num_train, num_val, num_test, noise, seed=seed, **loader_kwargs)
        self._num_features = require_positive_integer("data.num_features", num_features)
        self.num_classes = require_positive_integer("data.num_labels", num_labels)
        self.class_names = [f"label_{i}" for i in range(num_labels)]
        generator = torch.Generator().manual_seed(seed)
        self.true_w = torch.randn(num_features, num_labels, generator=generator) / math.sqrt(
            num_features
        )
        self.true_b = -0.5 * torch.rand(num_labels, generator=generator)

    @property
    def num_features(self) -> int:
        return self._num_features

    @property
    def sample_seed(self) -> int:
        return self.seed + 1

    def true_scores(self, x: Tensor) -> Tensor:
        return x @ self.true_w + self.true_b

    def labels_from_scores(self, scores: Tensor) -> Tensor:
        """Labels with a positive score, and always the top-scoring one."""
        labels = (scores > 0).float()
        labels[torch.arange(len(scores)), scores.argmax(1)] = 1.0
        return labels

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        x = torch.randn(n, self.num_features, generator=generator)
        noise = self.noise * torch.randn(n, self.num_classes, generator=generator)
        return x, self.labels_from_scores(self.true_scores(x) + noise)


def compose_side_by_side(
    images: Tensor,
    labels: Tensor,
    count: int,
    min_items: int,
    max_items: int,
    num_classes: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """``count`` canvases of ``max_items`` slots, each with ``min_items..max_items`` random
    images from ``images`` in random slots; targets are 0/1 class sets ``(count, num_classes)``."""
    height, width = images.shape[1:]
    per_canvas = torch.randint(min_items, max_items + 1, (count,), generator=generator)
    slot_rank = torch.rand(count, max_items, generator=generator).argsort(1).argsort(1)
    filled = slot_rank < per_canvas.unsqueeze(1)
    source = torch.randint(0, len(images), (count, max_items), generator=generator)
    canvas = torch.zeros(count, height, width * max_items, dtype=images.dtype)
    target = torch.zeros(count, num_classes)
    for slot in range(max_items):
        rows = filled[:, slot].nonzero().squeeze(1)
        picked = source[rows, slot]
        canvas[rows, :, slot * width : (slot + 1) * width] = images[picked]
        target[rows, labels[picked].long()] = 1.0
    return canvas, target


class VisionMultilabelDataModule(InMemoryDataModule):
    """1..max_digits images of a base vision set side by side; target = the classes shown."""

    def __init__(
        self,
        base: str = "mnist",
        data_dir: str = "data",
        download: bool = False,
        val_size: int = 5000,
        split_seed: int = 42,
        num_train: int = 60000,
        num_val: int = 5000,
        num_test: int = 10000,
        min_digits: int = 1,
        max_digits: int = 3,
        seed: int = 0,
        **loader_kwargs: Any,
    ) -> None:
        super().__init__(**loader_kwargs)
        require_choice("data.base", base, BASES)
        for key, value in (
            ("data.num_train", num_train),
            ("data.num_val", num_val),
            ("data.num_test", num_test),
            ("data.min_digits", min_digits),
        ):
            require_positive_integer(key, value)
        if not isinstance(max_digits, int) or max_digits < min_digits:
            raise ConfigError(
                f"data.max_digits must be an integer >= data.min_digits={min_digits}, "
                f"got {max_digits!r}"
            )
        self.base = BASES[base](
            data_dir=data_dir, download=download, val_size=val_size, split_seed=split_seed
        )
        if val_size == 0:
            raise ConfigError("data.val_size must be > 0: validation composites need images")
        self.sizes = {"train": num_train, "val": num_val, "test": num_test}
        self.min_digits, self.max_digits = min_digits, max_digits
        self.seed = seed
        self.num_classes = self.base.num_classes

    @property
    def class_names(self) -> list[str]:
        return self.base.class_names

    @property
    def input_shape(self) -> list[int]:
        return [1, IMAGE_SHAPE[0], IMAGE_SHAPE[1] * self.max_digits]

    @property
    def num_features(self) -> int:
        return IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * self.max_digits

    def prepare_data(self) -> None:
        self.base.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.base.setup(stage)
        sources = {
            "train": self.base.train_set,
            "val": self.base.val_set,
            "test": self.base.test_set,
        }
        composed = {}
        for offset, (split, source) in enumerate(sources.items()):
            # Each split has its own stream, so resizing one split leaves the others alone.
            generator = torch.Generator().manual_seed(self.seed * 10 + offset)
            images, target = compose_side_by_side(
                source.inputs,
                source.targets,
                self.sizes[split],
                self.min_digits,
                self.max_digits,
                self.num_classes,
                generator,
            )
            composed[split] = TensorBatchDataset(images, target, self.base.transform)
        self.train_set, self.val_set, self.test_set = (composed[s] for s in sources)
        # The single-image splits are no longer needed; free their memory.
        self.base.train_set = self.base.val_set = self.base.test_set = None
