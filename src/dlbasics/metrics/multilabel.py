"""Multilabel metrics: Hamming loss, exact match, Jaccard, precision/recall/F1 three ways.

torchmetrics covers Hamming loss, exact match and the ``macro``/``micro``
averages. It has no ``samples`` average (score each sample's predicted label
set against its true set, then average over samples), so
:class:`SampleAveragedScore` adds it; its states are sums, reduced with
``dist_reduce_fx="sum"``, so the value under DDP equals the one-process value.

Inputs are scores per label, probabilities or logits, and 0/1 targets. As in
torchmetrics, scores outside [0, 1] are read as logits and passed through a
sigmoid; a label is predicted when its probability is strictly above the
threshold. A sample with no predicted label has precision 0/0, which counts as
0 (the rule of :mod:`dlbasics.metrics.counts`).
"""

import functools

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import (
    MultilabelExactMatch,
    MultilabelF1Score,
    MultilabelHammingDistance,
    MultilabelPrecision,
    MultilabelRecall,
)

from dlbasics.metrics.checks import CheckedCollection, check_multilabel_inputs
from dlbasics.metrics.counts import SCORES, scores_from_counts
from dlbasics.utils.checks import require_choice, require_positive_integer, require_probability


def predicted_labels(preds: Tensor, threshold: float) -> Tensor:
    """0/1 predictions: sigmoid first when the scores are not all in [0, 1] (logits)."""
    if preds.is_floating_point():
        if bool(((preds < 0) | (preds > 1)).any()):
            preds = preds.sigmoid()
        return preds > threshold
    return preds.bool()


def sample_scores(predicted: Tensor, target: Tensor) -> dict[str, Tensor]:
    """Per-sample precision, recall, F1 and Jaccard of 0/1 matrices ``(N, L)``."""
    predicted, target = predicted.bool(), target.bool()
    tp = (predicted & target).sum(1).float()
    fp = (predicted & ~target).sum(1).float()
    fn = (~predicted & target).sum(1).float()
    return scores_from_counts(tp, fp, fn)


class SampleAveragedScore(Metric):
    """Mean over samples of a per-sample set score: precision, recall, f1 or jaccard."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, score: str, threshold: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.score = require_choice("score", score, SCORES)
        self.threshold = threshold
        self.add_state(
            "total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        scores = sample_scores(predicted_labels(preds, self.threshold), target)[self.score]
        self.total += scores.double().sum()
        self.count += len(scores)

    def compute(self) -> Tensor:
        return (self.total / self.count.clamp(min=1)).float()


def multilabel_metrics(num_labels: int, threshold: float = 0.5) -> CheckedCollection:
    """``hamming``, ``exact_match``, ``jaccard``, ``precision``/``recall``/``f1`` (macro) and
    their ``_micro`` and ``_samples`` variants.

    0-1 loss is ``1 - exact_match``. Inputs are checked: scores ``(N, num_labels)`` without
    NaN, targets of the same shape holding only 0 and 1.
    """
    require_positive_integer("num_labels", num_labels)
    require_probability("the decision threshold", threshold)
    common = {"num_labels": num_labels, "threshold": threshold}
    metrics = {
        "hamming": MultilabelHammingDistance(average="micro", **common),
        "exact_match": MultilabelExactMatch(**common),
        "jaccard": SampleAveragedScore("jaccard", threshold),
    }
    classes = {
        "precision": MultilabelPrecision,
        "recall": MultilabelRecall,
        "f1": MultilabelF1Score,
    }
    for name, cls in classes.items():
        metrics[name] = cls(average="macro", **common)
        metrics[f"{name}_micro"] = cls(average="micro", **common)
        metrics[f"{name}_samples"] = SampleAveragedScore(name, threshold)
    check = functools.partial(check_multilabel_inputs, num_labels=num_labels)
    # compute_groups=False: each metric keeps its own state, so a metric's value never
    # depends on which other metrics share a group (and states stay small anyway).
    return CheckedCollection(metrics, check=check, compute_groups=False)
