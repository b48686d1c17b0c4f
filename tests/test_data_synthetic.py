import pytest
import torch

from dlbasics.data import LinearDataModule
from dlbasics.errors import ConfigError


def test_linear_data_follows_its_ground_truth():
    dm = LinearDataModule(noise=0.01, seed=3)
    dm.setup()
    x, y = dm.train_set.inputs, dm.train_set.targets.squeeze(1)
    assert x.shape == (1000, 2)
    residual = y - (x @ torch.tensor([2.0, -3.4]) + 4.2)
    assert float(residual.std()) == pytest.approx(0.01, rel=0.1)
    assert (len(dm.val_set), len(dm.test_set)) == (200, 200)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = (LinearDataModule(seed=s) for s in (1, 1, 2))
    for dm in (a, b, c):
        dm.setup()
    assert torch.equal(a.train_set.inputs, b.train_set.inputs)
    assert not torch.equal(a.train_set.inputs, c.train_set.inputs)


def test_bad_values_name_the_key():
    with pytest.raises(ConfigError, match="data.noise"):
        LinearDataModule(noise=-1.0)
    with pytest.raises(ConfigError, match="data.num_train"):
        LinearDataModule(num_train=0)
    with pytest.raises(ConfigError, match="data.batch_size"):
        LinearDataModule(batch_size=-1)


def test_train_repeats_gives_full_batch_steps_within_one_epoch():
    dm = LinearDataModule(num_train=20, batch_size=20, train_repeats=5)
    dm.setup()
    batches = list(dm.train_dataloader())
    assert len(batches) == 5
    whole = dm.train_set.inputs.sort(dim=0).values
    for inputs, _ in batches:  # each step sees the whole training set, in a fresh order
        assert torch.equal(inputs.sort(dim=0).values, whole)
    with pytest.raises(ConfigError, match="data.train_repeats"):
        LinearDataModule(train_repeats=0)
