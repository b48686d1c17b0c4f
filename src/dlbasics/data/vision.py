"""MNIST and Fashion-MNIST from torchvision's raw IDX layout, held as uint8 tensors."""

from pathlib import Path
from typing import Any

from torch import Tensor
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file

from dlbasics.data.images import ImageDataModule, Split, carve_validation
from dlbasics.errors import DataError
from dlbasics.utils.checks import require_integer

IMAGE_SHAPE = (28, 28)


class VisionDataModule(ImageDataModule):
    """The standard 60k/10k split; validation carved from train with a fixed seed.

    The test split is never used for model selection: checkpoints and early
    stopping see only the validation part of the training file. Images are kept
    as ``(N, 28, 28)`` uint8 (``(N, resize, resize)`` with ``data.resize``).
    """

    dataset_cls: type[datasets.MNIST] = datasets.MNIST
    image_shape = (1, *IMAGE_SHAPE)
    mean, std = (0.1307,), (0.3081,)
    num_classes = 10

    def __init__(self, val_size: int = 5000, **image_kwargs: Any) -> None:
        super().__init__(**image_kwargs)
        self.val_size = require_integer("data.val_size", val_size, minimum=0)

    @property
    def name(self) -> str:
        return self.dataset_cls.__name__

    @property
    def class_names(self) -> list[str]:
        return list(self.dataset_cls.classes)

    @property
    def raw_folder(self) -> Path:
        return self.data_dir.resolve() / self.name / "raw"

    def _raw_file(self, split: str, kind: str) -> Path:
        prefix = "train" if split == "train" else "t10k"
        suffix = "images-idx3-ubyte" if kind == "images" else "labels-idx1-ubyte"
        return self.raw_folder / f"{prefix}-{suffix}"

    def _raw_files(self) -> list[Path]:
        return [self._raw_file(s, k) for s in ("train", "test") for k in ("images", "labels")]

    def check_files(self) -> None:
        missing = [path.name for path in self._raw_files() if not path.is_file()]
        if missing:
            raise DataError(
                f"{self.name}: no IDX file found for {', '.join(missing)} in {self.raw_folder}. "
                f"Set DLBASICS_DATA_DIR (or paths.data_dir=...) to the folder that contains "
                f"{self.name}/raw, or pass data.download=true to fetch the files."
            )

    def fetch(self) -> None:
        for train in (True, False):
            self.dataset_cls(str(self.data_dir), train=train, download=True)

    def files_location(self) -> tuple[Path, str]:
        return self.raw_folder, "the raw IDX files"

    def _read(self, split: str) -> tuple[Tensor, Tensor]:
        images_path = self._raw_file(split, "images")
        labels_path = self._raw_file(split, "labels")
        images = _parse_idx(images_path, read_image_file)
        labels = _parse_idx(labels_path, read_label_file)
        if images.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{images_path} holds images of shape {tuple(images.shape[1:])}, "
                f"expected {IMAGE_SHAPE}"
            )
        if len(images) != len(labels):
            raise DataError(
                f"{images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels; one of them is truncated or from another set"
            )
        if len(labels) and int(labels.max()) >= self.num_classes:
            raise DataError(
                f"{labels_path} has label {int(labels.max())}, expected 0..{self.num_classes - 1}"
            )
        return images, labels

    def read_splits(self) -> dict[str, Split]:
        source = f"the {self.name} training images"
        train, val = carve_validation(self._read("train"), self.val_size, self.split_seed, source)
        return {"train": train, "val": val, "test": self._read("test")}


def _parse_idx(path: Path, reader) -> Tensor:
    try:
        tensor = reader(str(path))
    except Exception as error:  # torchvision raises assert/Runtime/Value errors on bad bytes
        raise DataError(
            f"{path} is not a valid IDX file ({type(error).__name__}: {error}); it is corrupt "
            f"or truncated. Replace it with a fresh copy (or delete it and use data.download=true)."
        ) from error
    return tensor.contiguous()


class MNISTDataModule(VisionDataModule):
    dataset_cls = datasets.MNIST
    mean, std = (0.1307,), (0.3081,)


class FashionMNISTDataModule(VisionDataModule):
    dataset_cls = datasets.FashionMNIST
    mean, std = (0.2860,), (0.3530,)
