"""torchmetrics collections per task, the input checks in front of them, the 0/0 rule of
scores computed from counts, and the per-class classification report.

Names follow one scheme: ``acc``, ``acc_top<k>``, ``precision``/``recall``/``f1`` (macro
unless suffixed ``_weighted``, ``_micro`` or ``_samples``), multilabel ``hamming``,
``exact_match``, ``jaccard``, regression ``mae``, ``mse``, ``rmse``, ``mape``, ``r2``.
Tasks clone each collection per stage with a ``train/``, ``val/`` or ``test/`` prefix;
torchmetrics reduces the states across processes, so the numbers are the same under DDP.
"""

from dlbasics.metrics.checks import CheckedCollection
from dlbasics.metrics.classification import binary_metrics, classification_metrics
from dlbasics.metrics.counts import ratio, scores_from_counts
from dlbasics.metrics.multilabel import multilabel_metrics
from dlbasics.metrics.regression import regression_metrics

__all__ = [
    "CheckedCollection",
    "binary_metrics",
    "classification_metrics",
    "multilabel_metrics",
    "ratio",
    "regression_metrics",
    "scores_from_counts",
]
