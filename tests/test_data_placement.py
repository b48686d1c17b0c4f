"""data.on_device: splits copied once to the training device, batches gathered there."""

from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch

import dlbasics.data.placement as placement
from dlbasics.data.clusters import BlobsDataModule
from dlbasics.data.placement import data_device
from dlbasics.errors import ConfigError


def batches(on_device, trainer) -> list[tuple[torch.Tensor, torch.Tensor]]:
    datamodule = BlobsDataModule(on_device=on_device, shuffle_seed=3)
    datamodule.trainer = trainer
    datamodule.setup("fit")
    train = list(datamodule.train_dataloader())
    return train + list(datamodule.val_dataloader())


def test_on_a_cpu_run_the_batches_are_the_same_either_way():
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False)
    plain, placed = batches(False, trainer), batches(True, trainer)
    auto = batches("auto", trainer)
    assert len(plain) == len(placed) == len(auto) == 10 + 1  # 640/64 train, 160 val in one
    for (x, y), (px, py), (ax, ay) in zip(plain, placed, auto, strict=True):
        assert torch.equal(x, px) and torch.equal(y, py)
        assert torch.equal(x, ax) and torch.equal(y, ay)


def test_on_an_accelerator_the_split_moves_once_and_batches_are_built_there():
    # the meta device stands in for a GPU: tensors without storage, indexing keeps shapes
    accelerator = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device("meta")))
    datamodule = BlobsDataModule(on_device=True)
    datamodule.trainer = accelerator
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    inputs, targets = next(iter(loader))
    assert inputs.device.type == targets.device.type == "meta"
    assert inputs.shape == (64, 2) and targets.shape == (64,)
    assert datamodule.train_set.inputs.device.type == "cpu"  # the host split is kept
    assert datamodule.train_dataloader().dataset is loader.dataset  # copied once
    assert loader.pin_memory is False


def test_auto_moves_a_split_that_fits_a_quarter_of_the_free_memory(monkeypatch):
    gpu = torch.device("cuda", 0)
    monkeypatch.setattr(placement, "free_memory", lambda device: 4000)
    assert data_device("auto", gpu, nbytes=1000, num_workers=0) == gpu
    assert data_device("auto", gpu, nbytes=1001, num_workers=0) is None
    assert data_device("auto", gpu, nbytes=10, num_workers=2) is None  # workers index the host
    assert data_device(True, gpu, nbytes=10**12, num_workers=0) == gpu  # true: always
    assert data_device(False, gpu, nbytes=1, num_workers=0) is None
    assert data_device(True, torch.device("cpu"), nbytes=1, num_workers=0) is None


@pytest.mark.parametrize(
    ("on_device", "num_workers", "words"),
    [("yes", 0, "data.on_device must be false, true or auto"), (True, 2, "data.num_workers=0")],
)
def test_bad_on_device_settings_name_the_key(on_device, num_workers, words):
    with pytest.raises(ConfigError, match=words):
        BlobsDataModule(on_device=on_device, num_workers=num_workers)
