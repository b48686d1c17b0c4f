"""MNIST and Fashion-MNIST from torchvision's raw IDX layout, held as uint8 tensors."""

from pathlib import Path

from torch import Tensor
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset, split_indices
from dlbasics.errors import ConfigError, DataError
from dlbasics.utils.checks import require_integer

IMAGE_SHAPE = (28, 28)


class Normalize:
    """uint8 ``(B, H, W)`` images → float ``(B, 1, H, W)`` standardised with the set's mean/std."""

    def __init__(self, mean: float, std: float) -> None:
        self.shift = 255.0 * mean
        self.scale = 1.0 / (255.0 * std)

    def __call__(self, images: Tensor) -> Tensor:
        # in place on the one float copy: this runs on every batch of every epoch
        return images.float().sub_(self.shift).mul_(self.scale).unsqueeze(1)


class VisionDataModule(InMemoryDataModule):
    """The standard 60k/10k split; validation carved from train with a fixed seed.

    The test split is never used for model selection: checkpoints and early
    stopping see only the validation part of the training file.
    """

    dataset_cls: type[datasets.MNIST] = datasets.MNIST
    mean: float = 0.1307
    std: float = 0.3081
    num_classes = 10

    def __init__(
        self,
        data_dir: str = "data",
        download: bool = False,
        val_size: int = 5000,
        split_seed: int = 42,
        **loader_kwargs,
    ) -> None:
        super().__init__(**loader_kwargs)
        require_integer("data.val_size", val_size, minimum=0)
        self.data_dir = Path(data_dir).expanduser()
        self.download = download
        self.val_size = val_size
        self.split_seed = split_seed
        self.transform = Normalize(self.mean, self.std)

    @property
    def name(self) -> str:
        return self.dataset_cls.__name__

    @property
    def num_features(self) -> int:
        return IMAGE_SHAPE[0] * IMAGE_SHAPE[1]

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

    def prepare_data(self) -> None:
        if self.download:
            self._download()
        self._check_files()

    def _check_files(self) -> None:
        missing = [path.name for path in self._raw_files() if not path.is_file()]
        if missing:
            raise DataError(
                f"{self.name}: no IDX file found for {', '.join(missing)} in {self.raw_folder}. "
                f"Set DLBASICS_DATA_DIR (or paths.data_dir=...) to the folder that contains "
                f"{self.name}/raw, or pass data.download=true to fetch the files."
            )

    def _download(self) -> None:
        try:
            for train in (True, False):
                self.dataset_cls(str(self.data_dir), train=train, download=True)
        except (OSError, RuntimeError) as error:
            raise DataError(
                f"{self.name}: download into {self.raw_folder} failed ({error}). Without a "
                f"network, copy the raw IDX files there and set data.download=false."
            ) from error

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

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self._check_files()  # setup runs on every rank, prepare_data only on one
        images, labels = self._read("train")
        if self.val_size >= len(images):
            raise ConfigError(
                f"data.val_size={self.val_size} leaves no training images "
                f"({self.name} train holds {len(images)})"
            )
        train_idx, val_idx = split_indices(
            len(images), [len(images) - self.val_size, self.val_size], self.split_seed
        )
        self.train_set = TensorBatchDataset(images[train_idx], labels[train_idx], self.transform)
        self.val_set = TensorBatchDataset(images[val_idx], labels[val_idx], self.transform)
        test_images, test_labels = self._read("test")
        self.test_set = TensorBatchDataset(test_images, test_labels, self.transform)


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
    mean, std = 0.1307, 0.3081


class FashionMNISTDataModule(VisionDataModule):
    dataset_cls = datasets.FashionMNIST
    mean, std = 0.2860, 0.3530
