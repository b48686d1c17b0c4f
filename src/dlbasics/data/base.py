"""In-memory data sets batched by tensor indexing, and the DataModule base they share.

A whole split lives in one tensor; a batch is one fancy-index into it plus an
on-the-fly transform. ``__getitems__`` lets the standard DataLoader fetch a
batch in one call, so samplers (shuffling, Lightning's DistributedSampler)
keep working while the per-sample Python overhead disappears.
"""

import copy
from collections.abc import Callable, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from dlbasics.data.placement import check_on_device, data_device
from dlbasics.data.resumable import EpochShuffleSampler, ResumableLoader
from dlbasics.data.sharding import eval_sampler, process_shard
from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_integer, require_positive_integer

BatchTransform = Callable[[Tensor], Tensor]


def _identity(x: Tensor) -> Tensor:
    return x


def pass_through(batch: Any) -> Any:
    """``collate_fn`` for datasets whose ``__getitems__`` already returns a batch."""
    return batch


class TensorBatchDataset(Dataset):
    """Inputs and targets held as tensors; ``transform`` runs once per batch, not per sample."""

    def __init__(self, inputs: Tensor, targets: Tensor, transform: BatchTransform | None = None):
        if len(inputs) != len(targets):
            raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")
        self.inputs = inputs
        self.targets = targets
        self.transform = transform or _identity

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.transform(self.inputs[index : index + 1])[0], self.targets[index]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long, device=self.inputs.device)
        return self.transform(self.inputs[index]), self.targets[index]

    def to(self, device: torch.device | str) -> "TensorBatchDataset":
        """A copy whose tensors live on ``device`` (the same transform, so a batch is built
        there: one gather on the device instead of a copy from the host per batch)."""
        placed = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, Tensor):
                setattr(placed, name, value.to(device))
        return placed

    @property
    def nbytes(self) -> int:
        return sum(value.nbytes for value in vars(self).values() if isinstance(value, Tensor))


def generated_split_sizes(num_train: int, num_val: int, num_test: int) -> tuple[int, int, int]:
    """The three split sizes of a generated set, each checked positive (``data.num_*``)."""
    named = (("num_train", num_train), ("num_val", num_val), ("num_test", num_test))
    train, val, test = (require_positive_integer(f"data.{key}", value) for key, value in named)
    return train, val, test


def split_indices(total: int, sizes: Sequence[int], seed: int) -> list[Tensor]:
    """A seeded random partition of ``range(total)`` into parts of the given sizes."""
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return list(torch.split(order, list(sizes)))


class InMemoryDataModule(pl.LightningDataModule):
    """Shared batching for every data set whose splits fit in memory.

    Subclasses fill ``self.train_set``, ``self.val_set`` and ``self.test_set``
    in ``setup`` and describe their shape through ``num_features``,
    ``num_classes`` and ``class_names`` (every classification set names its
    classes; regression sets leave both ``None``); image sets also give
    ``input_shape``, ``[channels, height, width]`` of one image, which stays
    ``None`` for every other set; sequence sets give ``vocab_size`` (their token ids
    are ``0..vocab_size-1``), ``None`` for every other set. The loader settings are the
    keys of ``conf/loader/default.yaml``, which every data config includes.
    """

    def __init__(
        self,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        pin_memory: bool = False,
        train_repeats: int = 1,
        shuffle_seed: int = 0,
        on_device: bool | str = False,
    ) -> None:
        super().__init__()
        self.batch_size = require_positive_integer("data.batch_size", batch_size)
        self.train_repeats = require_positive_integer("data.train_repeats", train_repeats)
        self.eval_batch_size = require_positive_integer("data.eval_batch_size", eval_batch_size)
        self.num_workers = require_integer("data.num_workers", num_workers, minimum=0)
        self.pin_memory = pin_memory
        self.shuffle_seed = require_integer("data.shuffle_seed", shuffle_seed, minimum=0)
        self.on_device = check_on_device(on_device, self.num_workers)
        # id of a host split -> (that split, its device copy)
        self._placed: dict[int, tuple[TensorBatchDataset, TensorBatchDataset]] = {}
        self.train_set: TensorBatchDataset | None = None
        self.val_set: TensorBatchDataset | None = None
        self.test_set: TensorBatchDataset | None = None

    num_classes: int | None = None
    class_names: list[str] | None = None
    input_shape: list[int] | None = None
    vocab_size: int | None = None

    @property
    def num_features(self) -> int:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """What model configs may interpolate as ``${data_info.<key>}`` (the keys are
        declared, with a comment each, under ``data_info`` in conf/train.yaml)."""
        return {
            "num_features": self.num_features,
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "input_shape": self.input_shape,
            "vocab_size": self.vocab_size,
        }

    def _train_loader(self, dataset: TensorBatchDataset) -> ResumableLoader:
        """Shuffled batches whose order follows ``(shuffle_seed, epoch)`` and which a
        checkpoint can restart mid-epoch (data/resumable.py)."""
        world_size, rank = process_shard(self.trainer)
        if self.train_repeats > 1 and world_size > 1:
            raise ConfigError(
                "data.train_repeats > 1 is for one process (full-batch steps); "
                "under DDP set it to 1"
            )
        # with train_repeats = k and batch_size = the training size, an epoch holds k
        # full-batch steps, each over a fresh permutation
        sampler = EpochShuffleSampler(
            dataset, self.shuffle_seed, world_size, rank, repeats=self.train_repeats
        )
        return ResumableLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            generator=torch.Generator().manual_seed(self.shuffle_seed),
            **self._loader_settings(dataset),
        )

    def _loader_settings(self, dataset: TensorBatchDataset) -> dict[str, Any]:
        on_host = dataset.inputs.device.type == "cpu"
        return dict(
            collate_fn=pass_through,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory and on_host,  # a device copy needs no staging buffer
        )

    def placed(self, dataset: TensorBatchDataset) -> TensorBatchDataset:
        """``dataset``, or its copy on the training device (``data.on_device``), made once."""
        root = self.trainer.strategy.root_device if self.trainer is not None else None
        device = data_device(self.on_device, root, dataset.nbytes, self.num_workers)
        if device is None:
            return dataset
        host, copy_on_device = self._placed.get(id(dataset), (None, None))
        if host is not dataset:  # not placed yet (or an id reused by a new split)
            copy_on_device = dataset.to(device)
            self._placed[id(dataset)] = (dataset, copy_on_device)
        return copy_on_device

    def _loader(self, dataset: TensorBatchDataset | None, batch_size: int, train: bool):
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}.setup() has not been called")
        dataset = self.placed(dataset)
        if train:
            return self._train_loader(dataset)
        # evaluation under DDP: each sample on exactly one process (data/sharding.py)
        sampler, batch_size = eval_sampler(dataset, batch_size, self.trainer)
        return DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, **self._loader_settings(dataset)
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, train=True)

    def eval_loader(self, dataset: TensorBatchDataset) -> DataLoader:
        """Batches of ``dataset`` in order, ``eval_batch_size`` each, as validation and test
        get them (e.g. for samples encoded to predict, which are no split of the set)."""
        return self._loader(dataset, self.eval_batch_size, train=False)

    def val_dataloader(self) -> DataLoader:
        return self.eval_loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        return self.eval_loader(self.test_set)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
