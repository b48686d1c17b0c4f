"""Precision, recall, F1 and Jaccard from true-positive, false-positive and false-negative
counts, and the one rule for a score whose denominator is 0.

A 0/0 score counts as 0 (a class never predicted has precision 0, a class never
present has recall 0), as in torchmetrics and scikit-learn, so every number
dlbasics reports from counts agrees with the logged metrics.
"""

import torch
from torch import Tensor

SCORES = ("precision", "recall", "f1", "jaccard")


def ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator`` elementwise, 0 where the denominator is 0."""
    defined = denominator > 0
    return torch.where(defined, numerator / torch.where(defined, denominator, 1), 0.0)


def scores_from_counts(tp: Tensor, fp: Tensor, fn: Tensor) -> dict[str, Tensor]:
    """Every score of :data:`SCORES`, elementwise over the count tensors."""
    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "jaccard": ratio(tp, tp + fp + fn),
    }
