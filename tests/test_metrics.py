"""Metric collections against hand-computed values (worked examples from the issue)."""

import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy

from dlbasics.errors import ConfigError
from dlbasics.metrics import classification_metrics, regression_metrics
from dlbasics.metrics.accuracy import CountedAccuracy

Y_TRUE = torch.tensor([1, 1, 1, 0, 0, 0, 2, 2, 2, 2])
Y_PRED = torch.tensor([1, 0, 0, 0, 2, 1, 0, 0, 2, 2])


def test_classification_worked_example():
    metrics = classification_metrics(num_classes=3, top_k=())
    values = {
        k: float(v)
        for k, v in metrics(torch.nn.functional.one_hot(Y_PRED, 3).float(), Y_TRUE).items()
    }
    assert values["acc"] == pytest.approx(0.4, abs=1e-6)
    assert values["precision"] == pytest.approx(0.45556, abs=1e-5)
    assert values["recall"] == pytest.approx(0.38889, abs=1e-5)
    assert values["f1"] == pytest.approx(0.40714, abs=1e-5)
    assert values["precision_weighted"] == pytest.approx(0.47667, abs=1e-5)
    assert values["f1_weighted"] == pytest.approx(0.42357, abs=1e-5)
    assert values["recall_weighted"] == pytest.approx(0.4, abs=1e-6)  # = accuracy


def test_top_k_on_logits():
    logits = torch.tensor([[0.1, 0.3, 0.2, 0.4], [0.5, 0.01, 0.9, 0.4]])
    target = torch.tensor([3, 0])
    values = classification_metrics(num_classes=4, top_k=(2,))(logits, target)
    assert float(values["acc"]) == pytest.approx(0.5)
    assert float(values["acc_top2"]) == pytest.approx(1.0)


def test_top_k_not_below_num_classes_is_skipped_with_warning():
    with pytest.warns(UserWarning, match="acc_top5 skipped"):
        metrics = classification_metrics(num_classes=3, top_k=(5,))
    assert "acc_top5" not in metrics


def test_classification_metrics_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="num_classes"):
        classification_metrics(num_classes=1)
    with pytest.raises(ConfigError, match="k >= 1"):
        classification_metrics(num_classes=3, top_k=(0,))


def test_regression_metrics_match_formulas():
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(200, generator=generator) + 3.0
    preds = target + 0.3 * torch.randn(200, generator=generator)
    values = {k: float(v) for k, v in regression_metrics()(preds, target).items()}
    error = preds - target
    assert values["mae"] == pytest.approx(float(error.abs().mean()), rel=1e-5)
    assert values["mse"] == pytest.approx(float((error**2).mean()), rel=1e-5)
    assert values["rmse"] == pytest.approx(float((error**2).mean().sqrt()), rel=1e-5)
    assert values["mape"] == pytest.approx(float((error.abs() / target.abs()).mean()), rel=1e-5)
    ss_res = float((error**2).sum())
    ss_tot = float(((target - target.mean()) ** 2).sum())
    assert values["r2"] == pytest.approx(1 - ss_res / ss_tot, rel=1e-5)
    assert 0 < values["r2"] < 1


def test_keep_metrics_limits_training_metrics_and_names_unknown_ones():
    from dlbasics.tasks.stage_metrics import select_metrics

    metrics = classification_metrics(num_classes=3, top_k=()).clone(prefix="train/")
    select_metrics(metrics, ["acc"], key="model.train_metrics")
    values = metrics(torch.nn.functional.one_hot(Y_PRED, 3).float(), Y_TRUE)
    assert list(values) == ["train/acc"] and float(values["train/acc"]) == pytest.approx(0.4)
    with pytest.raises(ConfigError, match="model.train_metrics: unknown metric"):
        select_metrics(classification_metrics(3, top_k=()), ["accuracy"], key="model.train_metrics")


def test_epoch_loss_keeps_a_nan_batch_loss():
    """A diverged batch must make the logged epoch loss NaN, not vanish from the mean."""
    import functools

    from dlbasics.nets import LinearNet
    from dlbasics.tasks import RegressionTask

    task = RegressionTask(net=LinearNet(2, 1), optimizer=functools.partial(torch.optim.SGD, lr=0.1))
    task.train_loss.update(torch.tensor(float("nan")), weight=10)
    task.train_loss.update(torch.tensor(1.0), weight=10)
    assert torch.isnan(task.train_loss.compute())


def test_batch_mean_weights_batches_by_size():
    from dlbasics.tasks.stage_metrics import BatchMean

    mean = BatchMean()
    mean.update(torch.tensor(2.0), weight=1)
    mean.update(torch.tensor(4.0), weight=3)
    assert float(mean.compute()) == pytest.approx(3.5)


def test_counted_accuracy_equals_torchmetrics_micro_accuracy() -> None:
    """The training steps' cheap accuracy is torchmetrics' micro accuracy, batch by batch
    and over an epoch, for scores and for class ids; and 0 before any sample."""
    generator = torch.Generator().manual_seed(0)
    counted, reference = CountedAccuracy(), MulticlassAccuracy(7, average="micro")
    assert counted.compute().item() == 0.0
    for size in (1, 5, 64, 33):
        scores = torch.randn(size, 7, generator=generator)
        target = torch.randint(0, 7, (size,), generator=generator)
        preds = scores if size % 2 else scores.argmax(dim=1)  # scores, or class ids
        assert counted(preds, target).item() == pytest.approx(reference(preds, target).item())
    assert counted.compute().item() == pytest.approx(reference.compute().item(), abs=1e-7)
    assert counted.seen.item() == 103
    counted.reset()
    assert counted.seen.item() == 0


def test_training_accuracy_of_task_steps_equals_torchmetrics() -> None:
    """The accuracy a ClassificationTask logs for training batches (counted in place, the
    inputs checked by the quick test) is torchmetrics' multiclass micro accuracy on the
    same batches, and the epoch loss is the size-weighted mean of the batch losses."""
    import functools

    from dlbasics.nets import SoftmaxRegression
    from dlbasics.tasks import ClassificationTask

    torch.manual_seed(0)
    task = ClassificationTask(
        num_classes=7,
        net=SoftmaxRegression(5, 7),
        optimizer=functools.partial(torch.optim.SGD, lr=0.1),
    )
    reference = MulticlassAccuracy(7, average="micro")
    expected_sum, sizes = torch.tensor(0.0), []  # the sum ``+=`` built before, step by step
    for size in (64, 64, 33, 1):
        x, y = torch.randn(size, 5), torch.randint(0, 7, (size,))
        expected_sum = expected_sum + task.training_step((x, y), 0).detach() * size
        sizes.append(size)
        reference.update(task(x).detach(), y)
    assert task.train_metrics.compute()["train/acc"].item() == reference.compute().item()
    assert torch.equal(task.train_loss.mean_value, expected_sum)  # bit for bit
    assert task.train_loss.weight.item() == sum(sizes)


def test_step_metric_states_are_updated_in_place() -> None:
    """A training step adds into the existing state tensors: no new tensors per step."""
    from dlbasics.tasks.stage_metrics import BatchMean

    counted, mean = CountedAccuracy(), BatchMean()
    states = [counted.correct, counted.seen, mean.mean_value, mean.weight]
    for _ in range(3):
        counted.update(torch.randn(8, 3), torch.randint(0, 3, (8,)))
        mean.update(torch.tensor(0.5), weight=8)
    assert all(
        a is b
        for a, b in zip(
            states, [counted.correct, counted.seen, mean.mean_value, mean.weight], strict=True
        )
    )
    assert (counted.seen.item(), mean.weight.item()) == (24, 24.0)


@pytest.mark.parametrize(
    ("preds", "target", "match"),
    [
        (torch.rand(3, 4), torch.tensor([0, 4, 1]), "class id 4 .* num_classes=4"),
        (torch.rand(3, 4), torch.tensor([0, -1, 1]), "class id -1 .* num_classes=4"),
        (torch.rand(3, 4), torch.tensor([2**40, 0, 1]), f"class id {2**40} .* num_classes=4"),
        (torch.rand(3, 4), torch.tensor([0, 9, 1], dtype=torch.uint8), "class id 9 "),
        (torch.tensor([0, 5, 1]), torch.tensor([0, 1, 2]), "class id 5 "),  # class ids
        (torch.tensor([[0.1, 0.2, float("nan"), 0.3]]), torch.tensor([1]), "1 non-finite"),
        (torch.tensor([[0.1, float("inf"), 0.2, 0.3]]), torch.tensor([1]), r"index \(0, 1\)"),
        (torch.tensor([[0.1, -float("inf"), 0.2, 0.3]]), torch.tensor([1]), r"\(-inf\)"),
        (torch.rand(3, 5), torch.tensor([0, 1, 1]), r"shape \(3, 4\)"),
        (torch.rand(2, 4), torch.tensor([0.0, 1.0]), "1-D tensor of integer class ids"),
    ],
)
def test_quick_input_check_raises_the_detailed_message(preds, target, match) -> None:
    """Every kind of bad batch fails the quick test and gets the message naming it, through
    the training collection (``acc`` alone) as through the full one."""
    from dlbasics.errors import DataError
    from dlbasics.tasks.stage_metrics import select_metrics

    if not preds.is_floating_point():  # class ids: a class id out of range, as predicted
        preds, target = target, preds
    training = classification_metrics(4, top_k=())
    select_metrics(training, ["acc"], key="model.train_metrics")
    for collection in (training, classification_metrics(4, top_k=())):
        with pytest.raises(DataError, match=match):
            collection.update(preds, target)


def test_quick_input_check_passes_good_batches_whose_sum_overflows() -> None:
    """Finite scores whose float32 sum overflows fail the quick test only: the detailed
    search finds nothing and the batch counts; narrow id types pass as they are."""
    metrics = classification_metrics(3, top_k=())
    scores = torch.tensor([[3e38, 3e38, 0.0], [0.0, 3e38, 3e38]])
    metrics.update(scores, torch.tensor([0, 2], dtype=torch.uint8))  # 1 right (ties: first)
    metrics.update(torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([1], dtype=torch.int32))
    assert metrics.compute()["acc"].item() == pytest.approx(2 / 3)


@pytest.mark.parametrize("one_transfer", [False, True])
def test_quick_test_reads_the_same_answer_either_way(one_transfer) -> None:
    """The CPU's three reads and the one stacked transfer (every other device) agree."""
    from dlbasics.metrics.checks import _values_look_valid

    good = torch.rand(3, 4)
    cases = [
        (good, torch.tensor([0, 3, 1]), True),
        (good, torch.tensor([0, 4, 1]), False),
        (good, torch.tensor([-1, 0, 1]), False),
        (good, torch.tensor([2**40 + 1, 0, 1]), False),  # rounds in float32, keeps its sign
        (good, torch.tensor([0, 3, 1], dtype=torch.uint8), True),
        (torch.tensor([[0.0, float("nan"), 0.0, 0.0]]), torch.tensor([1]), False),
        (torch.tensor([0, 3, 1]), torch.tensor([0, 3, 1]), True),  # class ids: no sum
    ]
    for preds, target, valid in cases:
        assert _values_look_valid(preds, target, 4, one_transfer=one_transfer) is valid


def test_step_metrics_keep_torchmetrics_bookkeeping() -> None:
    """Their lean update still drops the cached compute and counts updates, in clones too."""
    from dlbasics.tasks.stage_metrics import BatchMean

    mean = BatchMean()
    mean.update(torch.tensor(1.0), weight=1)
    assert mean.compute().item() == 1.0
    mean.update(torch.tensor(4.0), weight=1)
    assert mean.compute().item() == 2.5  # not the cached 1.0
    copy = mean.clone()
    copy.update(torch.tensor(7.0), weight=2)
    assert (mean.update_count, copy.update_count) == (2, 3)
    assert (mean.compute().item(), copy.compute().item()) == (2.5, 4.75)  # (1 + 4 + 14) / 4
    counted = CountedAccuracy()
    counted.update(torch.tensor([0, 1]), torch.tensor([0, 0]))
    assert counted.compute().item() == 0.5
    counted.update(torch.tensor([0, 0]), torch.tensor([0, 0]))
    assert counted.compute().item() == 0.75
