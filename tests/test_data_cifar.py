"""CIFAR-10 DataModule on tiny python batches written by the tests, the shared augmentation,
and ``input_shape`` in what every DataModule publishes."""

import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from dlbasics.data import CIFAR10DataModule
from dlbasics.data.clusters import BlobsDataModule
from dlbasics.data.images import Chain, RandomCropFlip
from dlbasics.data.multilabel import VisionMultilabelDataModule
from dlbasics.errors import ConfigError, DataError
from dlbasics.training.cv import evaluation_transform, pooled_training_data
from dlbasics.utils.instantiate import build_datamodule
from tests.conftest import CIFAR_NAMES, make_fake_cifar, write_cifar_batch

MEAN = torch.tensor([0.4914, 0.4822, 0.4465])
STD = torch.tensor([0.2470, 0.2435, 0.2616])


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    make_fake_cifar(tmp_path, 20, seed=0)
    return tmp_path


def _ready(data_dir: Path, **kwargs) -> CIFAR10DataModule:
    datamodule = CIFAR10DataModule(data_dir=str(data_dir), batch_size=16, **kwargs)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def _labels(path: Path) -> list[int]:
    return pickle.loads(path.read_bytes(), encoding="bytes")[b"labels"]


def _index(images: torch.Tensor) -> list[int]:
    """The index each fake image carries in its first two red pixels."""
    return (images[:, 0, 0, 0].long() * 256 + images[:, 0, 0, 1].long()).tolist()


def test_book_split_shapes_and_dtypes(cifar_dir):
    dm = _ready(cifar_dir)
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (80, 20, 20)
    assert dm.train_set.inputs.shape == (80, 3, 32, 32)
    assert dm.train_set.inputs.dtype == torch.uint8 and dm.train_set.targets.dtype == torch.int64
    assert _index(dm.train_set.inputs) == list(range(80))  # batches 1..4 in order
    assert _index(dm.val_set.inputs) == list(range(80, 100))  # batch 5
    folder = cifar_dir / "cifar-10-batches-py"
    assert dm.val_set.targets.tolist() == _labels(folder / "data_batch_5")
    assert dm.test_set.targets.tolist() == _labels(folder / "test_batch")
    assert _index(dm.test_set.inputs) == list(range(100, 120))


def test_rows_are_red_green_blue_planes_in_row_major_order(tmp_path):
    make_fake_cifar(tmp_path, 2)
    images = np.zeros((2, 3, 32, 32), dtype=np.uint8)
    row = np.zeros((2, 3072), dtype=np.uint8)
    row[0, 2 * 32 + 5] = 255  # red plane, row 2, column 5
    row[0, 1024 + 7 * 32 + 1] = 200  # green plane, row 7, column 1
    row[0, 2048 + 31 * 32 + 30] = 100  # blue plane, row 31, column 30
    images[:] = row.reshape(2, 3, 32, 32)
    write_cifar_batch(tmp_path / "cifar-10-batches-py" / "data_batch_1", images, [3, 4])
    first = _ready(tmp_path).train_set.inputs[0]
    assert torch.nonzero(first).tolist() == [[0, 2, 5], [1, 7, 1], [2, 31, 30]]
    assert (int(first[0, 2, 5]), int(first[1, 7, 1]), int(first[2, 31, 30])) == (255, 200, 100)


def test_batches_are_normalised_with_the_cifar_statistics(cifar_dir):
    dm = _ready(cifar_dir)
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (20, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (20,)
    expected = (dm.val_set.inputs.float() / 255 - MEAN.view(1, 3, 1, 1)) / STD.view(1, 3, 1, 1)
    assert torch.allclose(x, expected, atol=1e-5)
    black = dm.test_set.transform(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    assert torch.allclose(black[0, :, 0, 0], -MEAN / STD, atol=1e-5)


def test_class_names_come_from_batches_meta(cifar_dir, tmp_path):
    assert CIFAR10DataModule(data_dir=str(tmp_path / "nowhere")).class_names == CIFAR_NAMES
    meta = {b"label_names": [f"class {i}".encode() for i in range(10)]}
    (cifar_dir / "cifar-10-batches-py" / "batches.meta").write_bytes(pickle.dumps(meta))
    dm = _ready(cifar_dir)
    assert dm.class_names[0] == "class 0" and dm.info()["class_names"][9] == "class 9"


def test_augmentation_changes_training_batches_only(cifar_dir):
    torch.manual_seed(0)
    dm = _ready(cifar_dir, augment=True)
    plain = dm.test_set.transform  # normalisation alone
    x, _ = dm.train_set.__getitems__(list(range(16)))
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32
    assert not torch.equal(x, plain(dm.train_set.inputs[:16]))
    for loader, split in ((dm.val_dataloader(), dm.val_set), (dm.test_dataloader(), dm.test_set)):
        assert torch.equal(next(iter(loader))[0], plain(split.inputs))
    unaugmented = _ready(cifar_dir).train_set.__getitems__([0])[0]
    assert torch.equal(unaugmented, plain(dm.train_set.inputs[:1]))


def test_cross_validation_folds_are_scored_without_augmentation(cifar_dir):
    dm = CIFAR10DataModule(data_dir=str(cifar_dir), augment=True)
    pooled = pooled_training_data(dm)
    assert len(pooled) == 100 and isinstance(pooled.transform, Chain)  # training folds augment
    assert evaluation_transform(dm, pooled) is dm.transform  # validation folds do not


def _shifted(image: torch.Tensor, dy: int, dx: int, flip: bool) -> torch.Tensor:
    """``image`` moved by (dy, dx) pixels, zeros coming in, then mirrored if ``flip``."""
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    rows, cols = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
    source_rows = slice(max(-dy, 0), h + min(-dy, 0))
    source_cols = slice(max(-dx, 0), w + min(-dx, 0))
    out[:, rows, cols] = image[:, source_rows, source_cols]
    return out.flip(-1) if flip else out


def test_crop_shifts_with_zero_padding_and_flip_mirrors():
    image = (torch.arange(3 * 8 * 8) % 250 + 1).to(torch.uint8).view(3, 8, 8)  # no zero pixel
    candidates = {
        (dy, dx, flip): _shifted(image, dy, dx, flip)
        for dy in range(-2, 3)
        for dx in range(-2, 3)
        for flip in (False, True)
    }
    torch.manual_seed(0)
    out = RandomCropFlip(padding=2)(image.expand(600, 3, 8, 8).contiguous())
    seen = []
    for sample in out:
        matches = [key for key, candidate in candidates.items() if torch.equal(sample, candidate)]
        assert len(matches) == 1  # every output is exactly one shift (and maybe a mirror)
        seen.append(matches[0])
    assert len(set(seen)) == 50  # every shift of -2..2 each way, with and without the mirror
    assert sum(flip for _, _, flip in seen) == pytest.approx(300, abs=45)
    torch.manual_seed(0)
    assert torch.equal(RandomCropFlip(padding=2)(image.expand(600, 3, 8, 8)), out)  # seeded


def test_val_source_random_carves_val_size_from_all_five_batches(cifar_dir):
    dm = _ready(cifar_dir, val_source="random", val_size=30)
    train, val = set(_index(dm.train_set.inputs)), set(_index(dm.val_set.inputs))
    assert (len(train), len(val)) == (70, 30) and not train & val
    assert train | val == set(range(100)) and max(val) >= 80 and min(val) < 80
    again = _ready(cifar_dir, val_source="random", val_size=30, split_seed=42)
    assert set(_index(again.val_set.inputs)) == val


def test_resize_and_subsets(cifar_dir):
    dm = _ready(cifar_dir, resize=16, train_subset=10, val_subset=5, test_subset=4, augment=True)
    assert dm.train_set.inputs.shape == (10, 3, 16, 16) and dm.train_set.inputs.dtype == torch.uint8
    assert (len(dm.val_set), len(dm.test_set)) == (5, 4)
    assert dm.info()["input_shape"] == [3, 16, 16] and dm.info()["num_features"] == 768
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (10, 3, 16, 16)
    with pytest.raises(ConfigError, match=r"data.val_subset=21 .* validation split holds \(20\)"):
        _ready(cifar_dir, val_subset=21)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"val_source": "batch1"}, "data.val_source='batch1' is unknown"),
        ({"val_size": 5000}, "data.val_size=5000 goes with data.val_source=random"),
        ({"val_source": "random"}, "data.val_source=random needs data.val_size"),
        ({"val_source": "random", "val_size": -1}, "data.val_size must be an integer >= 0"),
        ({"augment": "yes"}, "data.augment must be true or false"),
        ({"resize": 0}, "data.resize must be a positive integer"),
        ({"test_subset": 2.5}, "data.test_subset must be a positive integer"),
    ],
)
def test_bad_config_values_name_the_key(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CIFAR10DataModule(**kwargs)


def test_val_size_leaving_no_training_images_is_rejected(cifar_dir):
    with pytest.raises(ConfigError, match="data.val_size=100 leaves no training images"):
        _ready(cifar_dir, val_source="random", val_size=100)


def test_missing_folder_and_missing_batch_are_named(cifar_dir, tmp_path):
    with pytest.raises(DataError) as error:
        _ready(tmp_path / "nowhere")
    message = str(error.value)
    assert f"no folder {tmp_path / 'nowhere' / 'cifar-10-batches-py'}" in message
    assert "DLBASICS_DATA_DIR" in message and "data.download=true" in message
    (cifar_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataError, match="CIFAR-10: data_batch_3 missing in .*cifar-10-batches-py"):
        _ready(cifar_dir)


def _rewrite(folder: Path, name: str, change) -> None:
    path = folder / "cifar-10-batches-py" / name
    entry = pickle.loads(path.read_bytes(), encoding="bytes")
    path.write_bytes(pickle.dumps(change(entry), protocol=2))


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("data_batch_2", lambda e: {**e, b"data": e[b"data"][:, :3000]}, r"shape \(20, 3000\)"),
        ("data_batch_4", lambda e: {**e, b"labels": e[b"labels"][:19]}, "20 images but 19 labels"),
        ("test_batch", lambda e: {**e, b"labels": [10] * 20}, "has label 10, expected 0..9"),
        ("data_batch_1", lambda e: {b"labels": e[b"labels"]}, "has no 'data' entry"),
        ("data_batch_5", lambda e: {**e, b"data": OrderedDict()}, "collections.OrderedDict"),
    ],
)
def test_inconsistent_batches_are_named(cifar_dir, name, change, message):
    _rewrite(cifar_dir, name, change)
    with pytest.raises(DataError, match=f"{name}.*{message}"):
        _ready(cifar_dir)


def test_truncated_batch_is_named(cifar_dir):
    path = cifar_dir / "cifar-10-batches-py" / "data_batch_2"
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(DataError, match="data_batch_2 is not a readable CIFAR-10 python batch"):
        _ready(cifar_dir)


def test_failed_download_says_how_to_do_without(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr("dlbasics.data.cifar.datasets.CIFAR10", offline)
    with pytest.raises(DataError, match="download into .* failed .*data.download=false"):
        CIFAR10DataModule(data_dir=str(tmp_path), download=True).prepare_data()


def test_input_shape_is_published_for_images_only(cifar_dir, fake_data_dir):
    assert CIFAR10DataModule(data_dir=str(cifar_dir)).info()["input_shape"] == [3, 32, 32]
    assert BlobsDataModule().info()["input_shape"] is None
    assert VisionMultilabelDataModule(max_digits=3).info()["input_shape"] == [1, 28, 84]


def test_cifar10_and_resized_mnist_compose_and_fill_data_info(compose_config, fake_data_dir):
    cifar = compose_config(["data=cifar10", f"paths.data_dir={fake_data_dir}"])
    build_datamodule(cifar)
    assert cifar.data_info.input_shape == [3, 32, 32] and cifar.data_info.num_features == 3072
    mnist = compose_config(["data=mnist", "data.resize=32", f"paths.data_dir={fake_data_dir}"])
    build_datamodule(mnist)
    assert mnist.data_info.input_shape == [1, 32, 32] and mnist.data_info.num_features == 1024
