"""torchmetrics collections per task, named as in DESIGN.md (``acc``, ``f1_weighted``, ``r2``…).

Each collection is cloned per stage with a ``train/``, ``val/`` or ``test/``
prefix by the task. torchmetrics reduces metric states across processes, so
the numbers are the same under DDP as in one process.
"""

import functools
import warnings
from collections.abc import Iterable

from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)
from torchmetrics.regression import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    R2Score,
)

from dlbasics.errors import ConfigError
from dlbasics.metric_inputs import CheckedCollection, check_multiclass_inputs
from dlbasics.metrics_multilabel import multilabel_metrics  # noqa: F401  (public here)


def classification_metrics(num_classes: int, top_k: Iterable[int] = (5,)) -> MetricCollection:
    """Accuracy, top-k accuracy, and precision/recall/F1 macro and weighted.

    A ``k`` of 1 is plain ``acc``; a ``k`` that is not below ``num_classes`` is
    skipped with a warning because every prediction would count as correct.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    metrics = {"acc": MulticlassAccuracy(num_classes, average="micro")}
    for k in top_k:
        if k < 1:
            raise ConfigError(f"top-k accuracy needs k >= 1, got {k}")
        if k == 1:
            continue
        if k >= num_classes:
            warnings.warn(
                f"acc_top{k} skipped: k={k} is not below num_classes={num_classes}", stacklevel=2
            )
            continue
        metrics[f"acc_top{k}"] = MulticlassAccuracy(num_classes, top_k=k, average="micro")
    for average, suffix in (("macro", ""), ("weighted", "_weighted")):
        metrics[f"precision{suffix}"] = MulticlassPrecision(num_classes, average=average)
        metrics[f"recall{suffix}"] = MulticlassRecall(num_classes, average=average)
        metrics[f"f1{suffix}"] = MulticlassF1Score(num_classes, average=average)
    check = functools.partial(check_multiclass_inputs, num_classes=num_classes)
    return CheckedCollection(metrics, check=check)


class BatchMean(MeanMetric):
    """Mean of per-batch values weighted by batch size, that keeps NaN.

    torchmetrics' MeanMetric drops NaN values with a warning by default (a diverged
    epoch would report the mean of its finite batches), and with
    ``nan_strategy="disable"`` it ignores the weights. The states are MeanMetric's
    sums, so the value is the same under DDP.
    """

    def update(self, value: Tensor, weight: float) -> None:  # type: ignore[override]
        self.mean_value += value.detach().to(self.dtype).sum() * weight
        self.weight += weight


def keep_metrics(collection: MetricCollection, names: Iterable[str], key: str) -> None:
    """Drop every metric of ``collection`` not in ``names`` (e.g. the costly ones on
    training batches, where each update runs once per optimiser step)."""
    names = list(names)
    unknown = [name for name in names if name not in collection._modules]
    if unknown:
        raise ConfigError(
            f"{key}: unknown metric(s) {', '.join(unknown)}; "
            f"allowed values: {', '.join(collection._modules)}"
        )
    for name in list(collection._modules):
        if name not in names:
            collection.pop(name)
    collection._init_compute_groups()  # the groups were formed from the full set


def regression_metrics() -> MetricCollection:
    """MAE, MSE, RMSE, MAPE (a fraction, not a percentage) and R² = 1 − SS_res/SS_tot."""
    return MetricCollection(
        {
            "mae": MeanAbsoluteError(),
            "mse": MeanSquaredError(),
            "rmse": MeanSquaredError(squared=False),
            "mape": MeanAbsolutePercentageError(),
            "r2": R2Score(),
        }
    )


def binary_metrics(threshold: float = 0.5) -> MetricCollection:
    """Accuracy, precision, recall and F1 of the positive class (label 1).

    Scores outside [0, 1] are read as logits (torchmetrics applies the
    sigmoid), so a task can pass its raw output; ``threshold`` is on the
    probability.
    """
    from torchmetrics.classification import (
        BinaryAccuracy,
        BinaryF1Score,
        BinaryPrecision,
        BinaryRecall,
    )

    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"model.threshold must be in (0, 1), got {threshold!r}")
    return MetricCollection(
        {
            "acc": BinaryAccuracy(threshold),
            "precision": BinaryPrecision(threshold),
            "recall": BinaryRecall(threshold),
            "f1": BinaryF1Score(threshold),
        }
    )
