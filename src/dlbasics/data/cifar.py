"""CIFAR-10 from torchvision's python batches, held as uint8 ``(N, 3, 32, 32)`` tensors.

``<data_dir>/cifar-10-batches-py`` holds five training batches (``data_batch_1..5``,
10,000 images each), ``test_batch`` and ``batches.meta``: pickled dicts whose ``data``
is an ``N x 3072`` uint8 array (per row the red, green and blue 32 x 32 planes, each
row-major), whose ``labels`` is a list of N class indices, and whose ``label_names``
(in the meta file) names the ten classes.
"""

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import datasets

from dlbasics.data.images import ImageDataModule, RandomCropFlip, Split, carve_validation
from dlbasics.errors import ConfigError, DataError
from dlbasics.utils.checks import require_choice, require_flag, require_integer

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3 * 32 * 32
# What batches.meta names, for info() before a download has brought the file.
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
VAL_SOURCES = ("batch5", "random")
# What a batch file may build: numpy arrays (as any numpy version pickles them, through
# numpy's array-rebuilding helpers), bytes, lists and dicts; nothing else runs.
NUMPY_NAMES = {"ndarray", "dtype", "_reconstruct", "scalar", "_frombuffer"}


class _BatchUnpickler(pickle.Unpickler):
    """Builds arrays, lists and dicts only: a batch file can run no other code."""

    def find_class(self, module: str, name: str) -> Any:
        from_numpy = (module == "numpy" or module.startswith("numpy.")) and name in NUMPY_NAMES
        if not from_numpy and (module, name) != ("_codecs", "encode"):
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, no part of a batch")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    try:
        with path.open("rb") as file:
            entry = _BatchUnpickler(file, encoding="bytes").load()
    except Exception as error:  # EOFError, UnpicklingError, ValueError ... on bad bytes
        raise DataError(
            f"{path} is not a readable CIFAR-10 python batch ({type(error).__name__}: {error}); "
            f"it is truncated or corrupt. Replace it with a fresh copy (or delete the "
            f"{FOLDER} folder and use data.download=true)."
        ) from error
    if not isinstance(entry, dict):
        raise DataError(f"{path} holds a {type(entry).__name__}, not a CIFAR-10 batch dict")
    # Python 2 pickles load with bytes keys, Python 3 ones with str keys
    return {key.decode() if isinstance(key, bytes) else key: value for key, value in entry.items()}


def _field(entry: dict, key: str, path: Path) -> Any:
    if key not in entry:
        raise DataError(
            f"{path} has no '{key}' entry (it holds {sorted(map(str, entry))}); it is not a "
            f"CIFAR-10 python batch. Replace it with a fresh copy."
        )
    return entry[key]


def read_batch(path: Path, num_classes: int) -> Split:
    """One batch file → uint8 images ``(N, 3, 32, 32)`` and int64 labels ``(N,)``."""
    entry = _unpickle(path)
    data = np.asarray(_field(entry, "data", path))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        raise DataError(
            f"{path}: 'data' is a {data.dtype} array of shape {data.shape}, expected "
            f"N x {PIXELS} uint8 (three 32 x 32 planes per row); the file is corrupt or from "
            f"another set. Replace it with a fresh copy."
        )
    labels = np.asarray(_field(entry, "labels", path))
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{path} holds {len(data)} images but {labels.size} labels of type {labels.dtype}; "
            f"expected one integer label per image. Replace it with a fresh copy."
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels.max() if labels.max() >= num_classes else labels.min()
        raise DataError(f"{path} has label {int(bad)}, expected 0..{num_classes - 1}")
    images = torch.from_numpy(np.array(data)).view(len(data), *IMAGE_SHAPE)
    return images, torch.from_numpy(labels.astype(np.int64))


def _join(parts: list[Split]) -> Split:
    return torch.cat([images for images, _ in parts]), torch.cat([labels for _, labels in parts])


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 with the NNDL book's split by default: ``data_batch_1..4`` train (40k),
    ``data_batch_5`` validates (10k), ``test_batch`` tests (10k). ``val_source=random``
    instead carves ``val_size`` images out of all 50k with ``split_seed``.

    ``augment`` shifts every training image by up to 4 pixels (a random crop of the
    zero-padded image) and mirrors half of them, per batch; validation and test images
    are never augmented.
    """

    name = "CIFAR-10"
    image_shape = IMAGE_SHAPE
    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2470, 0.2435, 0.2616)
    num_classes = 10

    def __init__(
        self,
        val_source: str = "batch5",
        val_size: int | None = None,
        augment: bool = False,
        **image_kwargs: Any,
    ) -> None:
        super().__init__(**image_kwargs)
        self.val_source = require_choice("data.val_source", val_source, VAL_SOURCES)
        if val_source == "random":
            if val_size is None:
                raise ConfigError(
                    "data.val_source=random needs data.val_size: how many of the 50k "
                    "training images validate"
                )
            require_integer("data.val_size", val_size, minimum=0)
        elif val_size is not None:
            raise ConfigError(
                f"data.val_size={val_size} goes with data.val_source=random; with batch5 the "
                f"validation split is data_batch_5 (data.val_subset takes part of it), so set "
                f"data.val_size=null"
            )
        self.val_size = val_size
        require_flag("data.augment", augment)
        self.augment = augment
        self.train_augmentation = RandomCropFlip(padding=4) if augment else None
        self._class_names: list[str] | None = None

    @property
    def folder(self) -> Path:
        return self.data_dir.resolve() / FOLDER

    @property
    def class_names(self) -> list[str]:
        if self._class_names is None:
            if not (self.folder / META).is_file():  # not downloaded yet: setup reads it
                return list(CLASS_NAMES)
            self._class_names = self._read_meta()
        return self._class_names

    def _read_meta(self) -> list[str]:
        path = self.folder / META
        names = _field(_unpickle(path), "label_names", path)
        if not isinstance(names, list) or len(names) != self.num_classes:
            raise DataError(
                f"{path}: 'label_names' should list {self.num_classes} class names, got "
                f"{names!r:.80}. Replace it with a fresh copy."
            )
        return [name.decode() if isinstance(name, bytes) else str(name) for name in names]

    def check_files(self) -> None:
        fix = (
            f"Set DLBASICS_DATA_DIR (or paths.data_dir=...) to the folder that contains "
            f"{FOLDER}, or pass data.download=true to fetch it."
        )
        if not self.folder.is_dir():
            raise DataError(f"{self.name}: no folder {self.folder}. {fix}")
        names = (*TRAIN_BATCHES, TEST_BATCH, META)
        missing = [name for name in names if not (self.folder / name).is_file()]
        if missing:
            raise DataError(
                f"{self.name}: {', '.join(missing)} missing in {self.folder}. Copy the whole "
                f"{FOLDER} folder there again. {fix}"
            )

    def fetch(self) -> None:
        datasets.CIFAR10(str(self.data_dir), train=True, download=True)

    def files_location(self) -> tuple[Path, str]:
        return self.folder, f"the files of torchvision's {FOLDER} folder"

    def read_splits(self) -> dict[str, Split]:
        self._class_names = self._read_meta()
        parts = [read_batch(self.folder / name, self.num_classes) for name in TRAIN_BATCHES]
        test = read_batch(self.folder / TEST_BATCH, self.num_classes)
        if self.val_source == "batch5":
            return {"train": _join(parts[:4]), "val": parts[4], "test": test}
        source = "the five training batches"
        train, val = carve_validation(_join(parts), self.val_size, self.split_seed, source)
        return {"train": train, "val": val, "test": test}
