"""Image sets held in memory as uint8, and the steps every one of them shares.

A subclass of :class:`ImageDataModule` reads its files into uint8 tensors and splits
them (``read_splits``); the base class then draws the requested subsets, resizes every
image once and wraps the splits with per-batch transforms: normalisation with the set's
per-channel statistics, and on the training split only an optional augmentation.
"""

from collections.abc import Sequence
from math import prod
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from dlbasics.data.base import (
    BatchTransform,
    InMemoryDataModule,
    TensorBatchDataset,
    split_indices,
)
from dlbasics.errors import ConfigError, DataError
from dlbasics.utils.checks import require_positive_integer

SPLITS = ("train", "val", "test")
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
# Images interpolated at once: 2048 x 3 x 32 x 32 floats are 25 MB, whatever the split's size.
RESIZE_CHUNK = 2048

Split = tuple[Tensor, Tensor]  # uint8 images, integer labels


class Normalize:
    """uint8 ``(B, H, W)`` or ``(B, C, H, W)`` images → float ``(B, C, H, W)``, each channel
    standardised with the set's mean/std (given on the 0..1 scale, one per channel)."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        means = [mean] if isinstance(mean, (int, float)) else list(mean)
        stds = [std] if isinstance(std, (int, float)) else list(std)
        self.shift = torch.tensor([255.0 * m for m in means]).view(1, -1, 1, 1)
        self.scale = torch.tensor([1.0 / (255.0 * s) for s in stds]).view(1, -1, 1, 1)

    def __call__(self, images: Tensor) -> Tensor:
        planes = images.unsqueeze(1) if images.ndim == 3 else images
        # in place on the one float copy: this runs on every batch of every epoch
        device = planes.device  # the batch may live on the accelerator (data.on_device)
        return planes.float().sub_(self.shift.to(device)).mul_(self.scale.to(device))


class RandomCropFlip:
    """The standard augmentation of a uint8 ``(B, C, H, W)`` (or ``(B, H, W)``) batch: a
    random ``H x W`` crop of each image padded by ``padding`` zero pixels on every side
    (a shift of up to ``padding`` pixels each way, black filling in), then a left-right
    mirror with probability 1/2. One gather for the whole batch; the draws come from
    torch's global RNG, so ``seed_everything`` (and Lightning's worker seeding) fixes them."""

    def __init__(self, padding: int = 4) -> None:
        self.padding = padding

    def __call__(self, images: Tensor) -> Tensor:
        planes = images.unsqueeze(1) if images.ndim == 3 else images
        count, _, height, width = planes.shape
        pad = self.padding
        padded = F.pad(planes, (pad, pad, pad, pad))
        device = planes.device  # drawn where the batch lives (data.on_device)
        top = torch.randint(0, 2 * pad + 1, (count, 1), device=device)
        left = torch.randint(0, 2 * pad + 1, (count, 1), device=device)
        flip = torch.randint(0, 2, (count, 1), device=device).bool()
        columns = torch.arange(width, device=device).expand(count, width)
        columns = torch.where(flip, width - 1 - columns, columns) + left
        rows = torch.arange(height, device=device) + top
        batch = torch.arange(count, device=device).view(count, 1, 1)
        # advanced indices around a slice: the result is (B, H, W, C)
        shifted = padded[batch, :, rows.unsqueeze(2), columns.unsqueeze(1)]
        out = shifted.permute(0, 3, 1, 2).contiguous()
        return out.squeeze(1) if images.ndim == 3 else out


class Chain:
    """``second(first(batch))``: a picklable pair of batch transforms."""

    def __init__(self, first: BatchTransform, second: BatchTransform) -> None:
        self.first, self.second = first, second

    def __call__(self, images: Tensor) -> Tensor:
        return self.second(self.first(images))


def resize_images(images: Tensor, size: int, chunk: int = RESIZE_CHUNK) -> Tensor:
    """uint8 ``(N, H, W)`` or ``(N, C, H, W)`` images → uint8 ``size x size`` images:
    bilinear interpolation with antialiasing on float copies of ``chunk`` images at a
    time, rounded and clamped to 0..255."""
    if tuple(images.shape[-2:]) == (size, size):
        return images
    planes = images.unsqueeze(1) if images.ndim == 3 else images
    out = torch.empty((*planes.shape[:2], size, size), dtype=torch.uint8)
    for start in range(0, len(planes), chunk):
        part = planes[start : start + chunk].float()
        scaled = F.interpolate(
            part, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
        out[start : start + chunk] = scaled.round_().clamp_(0, 255).to(torch.uint8)
    return out.squeeze(1) if images.ndim == 3 else out


def carve_validation(split: Split, val_size: int, seed: int, source: str) -> tuple[Split, Split]:
    """``split`` cut into a training and a ``val_size`` validation part, seeded; ``source``
    names the training files for the error a too-large ``val_size`` gets."""
    images, labels = split
    if val_size >= len(images):
        raise ConfigError(
            f"data.val_size={val_size} leaves no training images ({source} hold {len(images)})"
        )
    train_idx, val_idx = split_indices(len(images), [len(images) - val_size, val_size], seed)
    return (images[train_idx], labels[train_idx]), (images[val_idx], labels[val_idx])


def draw_subset(split: Split, size: int | None, key: str, name: str, seed: int) -> Split:
    """``size`` samples of ``split`` drawn without replacement with ``seed``, kept in file
    order; the whole split when ``size`` is None."""
    images, labels = split
    if size is None:
        return split
    if size > len(images):
        raise ConfigError(
            f"{key}={size} asks for more images than the {name} split holds ({len(images)}); "
            f"lower {key} or set it to null to use the whole split"
        )
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    chosen = order[:size].sort().values
    return images[chosen], labels[chosen]


def optional_positive_integer(key: str, value: Any) -> int | None:
    return None if value is None else require_positive_integer(key, value)


class ImageDataModule(InMemoryDataModule):
    """Images held as uint8 tensors, normalised per batch.

    Subclasses set ``name``, ``image_shape`` (channels, height, width as stored),
    ``mean``/``std`` (per channel, 0..1 scale) and ``num_classes``, and implement
    ``check_files``, ``fetch``, ``files_location`` and ``read_splits``. ``resize``
    resizes every image once in ``setup``; ``*_subset`` draws that many images of a split
    with ``split_seed`` after the train/validation split, so the subsets never overlap and
    the test subset comes from the test file. ``train_augmentation`` (None here) runs on
    training batches only.
    """

    name: str
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train_augmentation: BatchTransform | None = None

    def __init__(
        self,
        data_dir: str = "data",
        download: bool = False,
        split_seed: int = 42,
        resize: int | None = None,
        train_subset: int | None = None,
        val_subset: int | None = None,
        test_subset: int | None = None,
        **loader_kwargs: Any,
    ) -> None:
        super().__init__(**loader_kwargs)
        self.data_dir = Path(data_dir).expanduser()
        self.download = download
        self.split_seed = split_seed
        self.resize = optional_positive_integer("data.resize", resize)
        self.subsets = {
            split: optional_positive_integer(f"data.{split}_subset", size)
            for split, size in zip(SPLITS, (train_subset, val_subset, test_subset), strict=True)
        }
        self.transform = Normalize(self.mean, self.std)

    @property
    def input_shape(self) -> list[int]:
        channels, height, width = self.image_shape
        if self.resize is None:
            return [channels, height, width]
        return [channels, self.resize, self.resize]

    @property
    def num_features(self) -> int:
        return prod(self.input_shape)

    def check_files(self) -> None:
        raise NotImplementedError

    def fetch(self) -> None:
        """Download the files into ``data_dir`` (torchvision's downloader)."""
        raise NotImplementedError

    def download_files(self) -> None:
        folder, files = self.files_location()
        try:
            self.fetch()
        except (OSError, RuntimeError) as error:  # no network, a bad checksum
            raise DataError(
                f"{self.name}: download into {folder} failed ({error}). Without a network, "
                f"copy {files} there and set data.download=false."
            ) from error

    def files_location(self) -> tuple[Path, str]:
        """The folder the files belong in and what they are, for the download error."""
        raise NotImplementedError

    def read_splits(self) -> dict[str, Split]:
        """``{"train": ..., "val": ..., "test": ...}``, each ``(uint8 images, labels)``."""
        raise NotImplementedError

    def prepare_data(self) -> None:
        if self.download:
            self.download_files()
        self.check_files()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.check_files()  # setup runs on every rank, prepare_data only on one
        splits = self.read_splits()
        train_transform = (
            Chain(self.train_augmentation, self.transform)
            if self.train_augmentation is not None
            else self.transform
        )
        datasets = {}
        for offset, split in enumerate(SPLITS):
            key = f"data.{split}_subset"
            seed = self.split_seed + 1 + offset  # a stream of its own for each split
            images, labels = draw_subset(
                splits[split], self.subsets[split], key, SPLIT_NAMES[split], seed
            )
            if self.resize is not None:
                images = resize_images(images, self.resize)
            transform = train_transform if split == "train" else self.transform
            datasets[split] = TensorBatchDataset(images, labels, transform)
        self.train_set, self.val_set, self.test_set = (datasets[s] for s in SPLITS)
