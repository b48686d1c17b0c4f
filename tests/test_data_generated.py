"""Generated data sets: sizes, determinism, the ground truth they keep, and bad values."""

import math

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import get_class
from omegaconf import OmegaConf

from dlbasics.data.clusters import BlobsDataModule, MoonsDataModule
from dlbasics.data.curves import (
    HousePriceDataModule,
    PolynomialDataModule,
    SinDataModule,
    TrapezoidDataModule,
)
from dlbasics.errors import ConfigError
from dlbasics.utils.cli import CONFIG_DIR


def HighDimDataModule(**overrides):
    """``data=high_dim``: the linear data set with the settings of conf/data/high_dim.yaml."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=["data=high_dim"])
    GlobalHydra.instance().clear()
    settings = OmegaConf.to_container(cfg.data, resolve=True)
    return get_class(settings.pop("_target_"))(**{**settings, **overrides})


ALL = [
    HousePriceDataModule,
    TrapezoidDataModule,
    PolynomialDataModule,
    SinDataModule,
    HighDimDataModule,
    MoonsDataModule,
    BlobsDataModule,
]


def ready(cls, **kwargs):
    datamodule = cls(**kwargs)
    datamodule.setup()
    return datamodule


@pytest.mark.parametrize("cls", ALL)
def test_default_sizes_and_seed(cls):
    first, again, other = ready(cls), ready(cls), ready(cls, seed=1)
    sizes = [len(getattr(first, f"{s}_set")) for s in ("train", "val", "test")]
    assert sizes == list(first.sizes)
    assert first.train_set.inputs.shape[1] == first.num_features
    assert torch.equal(first.train_set.inputs, again.train_set.inputs)
    assert not torch.equal(first.train_set.inputs, other.train_set.inputs)


def test_issue_defaults():
    assert ready(HousePriceDataModule).sizes[0] == 100
    assert ready(TrapezoidDataModule).sizes[0] == 50
    assert ready(PolynomialDataModule).sizes == (100, 100, 100)
    assert ready(SinDataModule).sizes[0] == 15 and ready(SinDataModule).sizes[2] == 10
    high = ready(HighDimDataModule)
    assert (high.num_features, high.sizes[0], high.sizes[2]) == (200, 20, 100)
    assert ready(MoonsDataModule).sizes == (640, 160, 200)
    assert ready(BlobsDataModule).num_classes == 4


def test_noise_free_targets_equal_the_true_function():
    for cls in (HousePriceDataModule, PolynomialDataModule, SinDataModule, HighDimDataModule):
        data = ready(cls, noise=0.0)
        x, y = data.train_set.inputs, data.train_set.targets
        assert y.shape == (len(x), 1)
        assert torch.allclose(y[:, 0], data.true_function(x))


def test_trapezoid_area_and_range():
    data = ready(TrapezoidDataModule)
    x, y = data.train_set.inputs, data.train_set.targets[:, 0]
    assert float(x.min()) >= 0.5 and float(x.max()) < 1.5
    assert torch.allclose(y, 0.5 * (x[:, 0] + x[:, 1]) * x[:, 0])
    assert float(data.true_function(torch.tensor([[1.0, 0.6]]))) == pytest.approx(0.8)


def test_polynomial_truth_is_d2l_formula_and_recoverable():
    data = ready(PolynomialDataModule)
    x = torch.tensor([[2.0]])
    expected = 5 + 1.2 * 2 - 3.4 * 4 / 2 + 5.6 * 8 / 6
    assert float(data.true_function(x)) == pytest.approx(expected, rel=1e-6)
    # least squares on the training split recovers the coefficients: the data carry them
    x, y = data.train_set.inputs[:, 0], data.train_set.targets[:, 0]
    features = torch.stack([x**i / math.factorial(i) for i in range(4)], dim=1).double()
    solution = torch.linalg.lstsq(features, y.double().unsqueeze(1)).solution[:, 0]
    assert torch.allclose(solution.float(), data.true_coefficients, atol=0.1)


def test_sin_and_high_dim_truth():
    sin = ready(SinDataModule)
    assert float(sin.true_function(torch.tensor([[0.25]]))) == pytest.approx(1.0)
    assert float(sin.train_set.inputs.min()) >= 0 and float(sin.train_set.inputs.max()) < 1
    high = ready(HighDimDataModule)
    assert float(high.true_function(torch.ones(1, 200))) == pytest.approx(0.05 + 2.0)


def test_moons_are_balanced_half_circles():
    data = ready(MoonsDataModule, noise=0.0)
    x = torch.cat([data.train_set.inputs, data.val_set.inputs, data.test_set.inputs])
    y = torch.cat([data.train_set.targets, data.val_set.targets, data.test_set.targets])
    assert int((y == 0).sum()) == int((y == 1).sum()) == 500
    upper, lower = x[y == 0], x[y == 1]
    assert torch.allclose(upper.norm(dim=1), torch.ones(500), atol=1e-5)
    assert torch.allclose(
        (lower - torch.tensor([1.0, 0.5])).norm(dim=1), torch.ones(500), atol=1e-5
    )


def test_blobs_cluster_around_their_centers():
    data = ready(BlobsDataModule, centers=[[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]], cluster_std=0.5)
    x, y = data.train_set.inputs, data.train_set.targets
    assert data.num_classes == 3 and data.class_names == ["blob0", "blob1", "blob2"]
    for label, center in enumerate(data.centers):
        assert torch.allclose(x[y == label].mean(dim=0), center, atol=0.15)
        assert torch.allclose(x[y == label].std(dim=0), torch.tensor(0.5), atol=0.1)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (HousePriceDataModule, {"noise": -0.1}, "data.noise must be a number >= 0"),
        (SinDataModule, {"num_train": 0}, "data.num_train must be a positive integer"),
        (MoonsDataModule, {"num_val": -5}, "data.num_val"),
        (HighDimDataModule, {"num_features": 0}, "data.num_features"),
        (TrapezoidDataModule, {"low": 2.0, "high": 1.0}, "data.high must be above data.low"),
        (PolynomialDataModule, {"true_coefficients": []}, "data.true_coefficients"),
        (BlobsDataModule, {"centers": [[1.0, 2.0]]}, "data.centers"),
        (BlobsDataModule, {"cluster_std": -1.0}, "data.cluster_std"),
    ],
)
def test_bad_values_name_the_key(cls, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        cls(**kwargs)
