"""The convolutional experiments on generated data: each runs, LeNet learns on either
convolution, the inspection callbacks see the conv layers, and data a net cannot read
stops the run with one message."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlbasics.callbacks.feature_maps import feature_map_sheet
from dlbasics.callbacks.prediction_images import GAP_PX
from dlbasics.train import main as train_main
from dlbasics.train import train
from tests.conftest import file_contents, make_fake_cifar, make_fake_idx_set, run_main
from tests.tensorboard_runs import load_events, quick_run

pytestmark = pytest.mark.filterwarnings("ignore")

SMALL_MNIST = ["data.val_size=100", "data.train_subset=120", "data.val_subset=40"]
SMALL_MNIST += ["data.test_subset=40"]


@pytest.mark.parametrize(
    ("experiment", "extra"),
    [
        ("nndl/lenet_mnist_subset", SMALL_MNIST),
        ("nndl/lenet_mnist", ["data.val_size=100"]),
        ("nndl/resnet18_mnist_subset", [*SMALL_MNIST, "model.net.use_residual=false"]),
        ("nndl/resnet18_fmnist", ["data.val_size=100"]),
        ("nndl/resnet18_cifar10", []),
        ("d2l/lenet_fmnist", ["data.val_size=100"]),
        ("study/normalization", ["data.val_size=100", "+variant=normalization/cnn"]),
        ("study/normalization", ["data.val_size=100", "+variant=normalization/deep_mlp"]),
    ],
)
def test_each_cnn_experiment_runs_one_batch(
    experiment, extra, compose_config, fake_data_dir
) -> None:
    cfg = compose_config(
        [
            f"experiment={experiment}",
            f"paths.data_dir={fake_data_dir}",
            "debug=fast_dev_run",
            *extra,
        ]
    )
    record = train(cfg)
    assert record["global_step"] == 1
    assert np.isfinite(record["test/loss"])


def test_lenet_learns_the_same_on_either_convolution(compose_config, fake_data_dir) -> None:
    accuracies = {}
    for impl in ("torch", "unfold"):
        cfg = compose_config(
            [
                "experiment=nndl/lenet_mnist_subset",
                f"paths.data_dir={fake_data_dir}",
                *SMALL_MNIST,
                "data.train_subset=null",  # all 500 generated training images
                "data.batch_size=50",
                "optimizer=adam",
                "optimizer.lr=0.003",
                f"model.net.conv_impl={impl}",
                "trainer=cpu",
                "trainer.max_epochs=4",
                "callbacks=none",
                "logger=csv",
            ]
        )
        accuracies[impl] = train(cfg)["test/acc"]
    assert accuracies["torch"] >= 0.9  # the generated digits are easy: a lit row block
    assert abs(accuracies["torch"] - accuracies["unfold"]) <= 0.05


def test_feature_map_sheet_rows_and_tiles() -> None:
    images = torch.rand(3, 1, 28, 28)
    filters = torch.randn(6, 1, 5, 5)
    maps = torch.randn(3, 6, 28, 28)
    sheet = feature_map_sheet(images, filters, maps)
    cell = 5 * 17 + GAP_PX  # 5-pixel filters are enlarged 17x (to at least 84 px)
    assert sheet.shape == (4 * cell, 7 * cell, 3)  # filters row + one row per image
    top, left = GAP_PX // 2, GAP_PX // 2
    tile = sheet[top : top + 85 : 17, left : left + 85 : 17, 0].astype(float)
    expected = filters[0, 0].numpy()
    expected = 255 * (expected - expected.min()) / (expected.max() - expected.min())
    assert np.abs(tile - expected).max() <= 1.0  # the first filter, min-max scaled


def test_inspection_callbacks_see_the_conv_layers(compose_config, tmp_path, fake_data_dir):
    quick_run(
        compose_config,
        tmp_path,
        fake_data_dir,
        "model=lenet",
        "data=mnist",
        "callbacks=inspect",
        "trainer.max_epochs=1",
        "test=false",
    )
    events = load_events(tmp_path)
    assert "feature_maps/val" in events.Tags()["images"]
    scalars = events.Tags()["scalars"]
    assert "grad_norm/net.features.0.weight" in scalars  # the first convolution
    assert any(tag.startswith("activations/net.features.") for tag in scalars)
    png = Image.open(tmp_path / "figures" / "feature_maps_val.png")
    assert png.height > png.width / 7 * 4  # a row of filters and four image rows


BAD_CNN_INPUTS = {
    "three_channels_into_one": (
        ["data=cifar10", "model=lenet", "model.net.input_shape=[1,32,32]"],
        "built for images of shape [1, 32, 32]",
    ),
    "too_small_for_the_pooling_stack": (
        ["data=mnist", "data.val_size=100", "model=lenet", "data.resize=16"],
        "needs images of at least 28×28",
    ),
    "resize_below_the_kernel": (
        [
            "data=mnist",
            "data.val_size=100",
            "model=lenet",
            "model.net.variant=d2l",
            "data.resize=4",
        ],
        "Resize the data",
    ),
    "no_images_at_all": (["data=moons", "model=resnet18"], "model=resnet18 needs image data"),
    "subset_larger_than_the_split": (
        ["data=mnist", "data.val_size=100", "model=lenet", "data.train_subset=100000"],
        "data.train_subset",
    ),
    "cifar_batch_missing": (["data=cifar10", "model=resnet18"], "data_batch_3 missing in"),
    "cifar_batch_truncated": (["data=cifar10", "model=resnet18"], "test_batch"),
}
# the cases whose data folder is broken on purpose (the others read a sound one)
BROKEN_FOLDER = {"cifar_batch_missing": "missing", "cifar_batch_truncated": "truncated"}


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cnn_bad")
    data_dir = root / "data"
    make_fake_idx_set(data_dir, "MNIST", 600, 200)
    make_fake_cifar(data_dir, 20)
    for broken in ("missing", "truncated"):
        make_fake_cifar(root / broken, 20)
    (root / "missing" / "cifar-10-batches-py" / "data_batch_3").unlink()
    test_batch = root / "truncated" / "cifar-10-batches-py" / "test_batch"
    test_batch.write_bytes(test_batch.read_bytes()[:5000])
    return {"root": root, "data_dir": data_dir}


@pytest.mark.parametrize("case", sorted(BAD_CNN_INPUTS))
def test_data_a_net_cannot_read_gives_one_message(case, earlier_run, capsys, monkeypatch):
    overrides, expected = BAD_CNN_INPUTS[case]
    log_dir = earlier_run["root"] / "logs"
    done = log_dir / "train" / "runs" / "earlier"
    done.mkdir(parents=True, exist_ok=True)
    (done / "metrics.json").write_text('{"test/acc": 0.5}')
    before = file_contents(done)
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={log_dir}",
        f"paths.data_dir={earlier_run['root'] / BROKEN_FOLDER.get(case, 'data')}",
        "trainer=cpu",
        "trainer.max_epochs=1",
        *overrides,
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code != 0
    assert expected in stderr
    assert "Traceback" not in stderr
    assert file_contents(done) == before
