"""Single-label metric collections: multiclass (``acc``, ``acc_top<k>``, precision/recall/F1
macro and ``_weighted``) and binary (the positive class, label 1)."""

import functools
import warnings
from collections.abc import Iterable

from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryF1Score,
    BinaryPrecision,
    BinaryRecall,
    MulticlassAccuracy,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from dlbasics.errors import ConfigError
from dlbasics.metrics.accuracy import CountedAccuracy
from dlbasics.metrics.checks import CheckedCollection, check_multiclass_inputs
from dlbasics.utils.checks import is_integer, require_probability


def classification_metrics(num_classes: int, top_k: Iterable[int] = (5,)) -> MetricCollection:
    """Accuracy, top-k accuracy, and precision/recall/F1 macro and weighted.

    A ``k`` of 1 is plain ``acc``; a ``k`` that is not below ``num_classes`` is
    skipped with a warning because every prediction would count as correct.
    """
    if not is_integer(num_classes) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    metrics = {"acc": CountedAccuracy()}  # = MulticlassAccuracy(average="micro"), cheaper
    for k in top_k:
        if not is_integer(k) or k < 1:
            raise ConfigError(
                f"metrics.top_k (model.top_k): top-k accuracy needs integers k >= 1, got {k!r}"
            )
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


def binary_metrics(threshold: float = 0.5) -> MetricCollection:
    """Accuracy, precision, recall and F1 of the positive class (label 1).

    Scores outside [0, 1] are read as logits (torchmetrics applies the
    sigmoid), so a task can pass its raw output; ``threshold`` is on the
    probability.
    """
    require_probability("model.threshold", threshold)
    return MetricCollection(
        {
            "acc": BinaryAccuracy(threshold),
            "precision": BinaryPrecision(threshold),
            "recall": BinaryRecall(threshold),
            "f1": BinaryF1Score(threshold),
        }
    )
