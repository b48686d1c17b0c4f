"""Multilabel data sets, MultilabelTask (losses, thresholds, bad input) and the experiments."""

import json

import pytest
import torch
from torch import nn

from dlbasics.data.multilabel import MultilabelSyntheticDataModule, VisionMultilabelDataModule
from dlbasics.data.vision import MNISTDataModule
from dlbasics.errors import ConfigError, DataError
from dlbasics.tasks import MultilabelTask
from dlbasics.tasks.multilabel import rescale_to_half
from dlbasics.train import train


def make_task(num_labels: int = 3, **kwargs) -> MultilabelTask:
    optimizer = {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1}
    return MultilabelTask(
        num_labels=num_labels, net=nn.Linear(4, num_labels), optimizer=optimizer, **kwargs
    )


# --- data ------------------------------------------------------------------------
def test_synthetic_sizes_label_counts_and_ground_truth():
    data = MultilabelSyntheticDataModule(noise=0.0, seed=3)
    data.setup()
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [640, 160, 200]
    assert data.info()["num_features"] == 20 and data.info()["num_classes"] == 5
    x, y = data.train_set.inputs, data.train_set.targets
    assert set(y.unique().tolist()) == {0.0, 1.0}
    per_sample = y.sum(1)
    assert per_sample.min() == 1 and per_sample.max() <= 5 and per_sample.max() >= 3
    assert torch.equal(y, data.labels_from_scores(data.true_scores(x)))  # noise 0: exact
    again = MultilabelSyntheticDataModule(noise=0.0, seed=3)
    again.setup()
    assert torch.equal(again.test_set.inputs, data.test_set.inputs)
    other = MultilabelSyntheticDataModule(noise=0.0, seed=4)
    other.setup()
    assert not torch.equal(other.test_set.inputs, data.test_set.inputs)


def _image_keys(images: torch.Tensor) -> set[bytes]:
    return {bytes(image.numpy().tobytes()) for image in images}


def test_mnist_multilabel_composites_match_their_targets(fake_data_dir):
    data = VisionMultilabelDataModule(
        data_dir=str(fake_data_dir), val_size=100, num_train=300, num_val=50, num_test=80
    )
    data.setup()
    assert data.num_features == 28 * 84 and data.num_classes == 10
    x, y = data.test_set.__getitems__(range(5))
    assert x.shape == (5, 1, 28, 84) and y.shape == (5, 10)
    base = MNISTDataModule(data_dir=str(fake_data_dir), val_size=100)
    base.setup()
    test_images = {
        bytes(img.numpy().tobytes()): int(lbl)
        for img, lbl in zip(base.test_set.inputs, base.test_set.targets, strict=True)
    }
    train_keys = _image_keys(base.train_set.inputs)
    canvases, targets = data.test_set.inputs, data.test_set.targets
    counts = targets.sum(1)
    assert counts.min() >= 1 and counts.max() <= 3
    for canvas, target in zip(canvases, targets, strict=True):
        shown = set()
        for slot in range(3):
            image = canvas[:, 28 * slot : 28 * (slot + 1)]
            if image.any():
                key = bytes(image.numpy().tobytes())
                assert key in test_images and key not in train_keys  # only the test split
                shown.add(test_images[key])
        assert shown == set(target.nonzero().flatten().tolist())


def test_fashion_base_and_bad_config(fake_data_dir):
    data = VisionMultilabelDataModule(
        base="fashion_mnist",
        data_dir=str(fake_data_dir),
        val_size=100,
        num_train=20,
        num_val=10,
        num_test=10,
        max_digits=2,
    )
    data.setup()
    assert data.class_names[0] == "T-shirt/top" and data.num_features == 28 * 56
    with pytest.raises(ConfigError, match="data.base='cifar'"):
        VisionMultilabelDataModule(base="cifar")
    with pytest.raises(ConfigError, match="max_digits"):
        VisionMultilabelDataModule(min_digits=3, max_digits=2)


# --- task ------------------------------------------------------------------------
def test_losses_match_their_formulas():
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.5, 1.5, 1.0]])
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    p = logits.sigmoid()
    bce = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
    assert make_task(loss="bce").compute_loss(logits, target) == pytest.approx(float(bce))
    assert make_task(loss="soft_margin").compute_loss(logits, target) == pytest.approx(float(bce))
    log_q = logits.log_softmax(1)
    normalized = -((target / target.sum(1, keepdim=True)) * log_q).sum(1).mean()
    task = make_task(loss="normalized_ce")
    assert task.compute_loss(logits, target) == pytest.approx(float(normalized))
    assert torch.allclose(task.predict_outputs(logits).sum(1), torch.ones(2))
    with pytest.raises(ConfigError, match="model.loss='hinge'"):
        make_task(loss="hinge")
    with pytest.raises(ConfigError, match="model.threshold"):
        make_task(threshold=1.0)


def test_rescaling_puts_each_threshold_at_one_half():
    scores = torch.rand(200, 3)
    thresholds = torch.tensor([0.2, 0.5, 0.85])
    rescaled = rescale_to_half(scores, thresholds)
    assert torch.equal(rescaled > 0.5, scores > thresholds)
    assert rescaled.min() >= 0 and rescaled.max() <= 1


def test_threshold_tuning_picks_the_separating_threshold():
    task = make_task(num_labels=2, tune_thresholds=True, threshold_candidates=9)
    # label 0: positives score 0.35, negatives 0.15 -> any threshold in [0.15, 0.35) is perfect;
    # label 1: separable at the default 0.5 -> keep 0.5
    scores = torch.tensor([[0.35, 0.9], [0.15, 0.1], [0.35, 0.8], [0.15, 0.2]])
    target = torch.tensor([[1, 1], [0, 0], [1, 1], [0, 0]])
    task.threshold_tuner.update(scores, target)
    thresholds = task.best_thresholds()
    assert 0.15 <= float(thresholds[0]) < 0.35
    assert float(thresholds[1]) == 0.5


@pytest.mark.parametrize(
    ("target", "match"),
    [
        (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), r"got \(2, 2\)"),
        (torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]), "0/1, found 2"),
    ],
)
def test_task_rejects_bad_targets_before_the_loss(target, match):
    task = make_task()
    with pytest.raises(DataError, match=match):
        task._shared_step((torch.randn(2, 4), target), "val")


# --- end to end --------------------------------------------------------------------
def test_synthetic_experiment_learns_and_tunes_thresholds(compose_config, tmp_path):
    cfg = compose_config(
        [
            "experiment=multilabel/synthetic_mlp",
            "trainer=cpu",
            "logger=csv",
            "model.tune_thresholds=true",
            "trainer.max_epochs=8",
        ]
    )
    train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # Predicting no label at all scores hamming ~0.4 and exact match 0 on this set.
    assert metrics["test/hamming"] < 0.15
    assert metrics["test/exact_match"] > 0.5
    checkpoint = torch.load(metrics["best_ckpt"], weights_only=True)
    thresholds = checkpoint["state_dict"]["thresholds"]
    assert thresholds.shape == (5,) and not torch.all(thresholds == 0.5)


@pytest.mark.slow
def test_mnist_multilabel_mlp_reaches_target(compose_config, real_data_dir, tmp_path):
    cfg = compose_config(
        ["experiment=multilabel/mnist_mlp", f"paths.data_dir={real_data_dir}", "trainer=cpu"]
    )
    train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test/exact_match"] >= 0.80
    assert metrics["test/hamming"] <= 0.03
