"""Multilabel classification: one score per label, any number of labels per sample.

Three losses: ``bce`` (a sigmoid and binary cross-entropy per label),
``soft_margin`` (``MultiLabelSoftMarginLoss``, the same objective averaged
per sample) and ``normalized_ce`` (the textbooks' extension of cross-entropy:
the label set normalised to a distribution, cross-entropy against a softmax).
The per-label score is a sigmoid for the first two and the softmax for the
third, so with ``normalized_ce`` a label set of size k puts about 1/k on each
label and the threshold must be lowered (or tuned) accordingly.

Per-label decision thresholds live in a buffer, so they travel with the
checkpoint. With ``tune_thresholds`` each validation epoch of ``fit`` picks,
per label, the candidate threshold with the best F1 on the validation set;
test then uses the thresholds of the best checkpoint.
"""

import torch
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MultilabelConfusionMatrix

from dlbasics.metrics import multilabel_metrics, scores_from_counts
from dlbasics.tasks.base import Task
from dlbasics.utils.checks import require_choice, require_positive_integer, require_probability

LOSSES = ("bce", "soft_margin", "normalized_ce")


def normalized_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy between ``softmax(logits)`` and the label set as a uniform distribution."""
    target = target.float()
    distribution = target / target.sum(1, keepdim=True).clamp(min=1.0)
    return -(distribution * logits.log_softmax(1)).sum(1).mean()


def rescale_to_half(scores: Tensor, thresholds: Tensor) -> Tensor:
    """Monotone map of [0, 1] onto itself that sends each label's threshold to 0.5.

    Metrics then threshold at 0.5 and still decide ``score > threshold`` per label,
    whatever the per-label thresholds are.
    """
    below = 0.5 * scores / thresholds
    above = 0.5 + 0.5 * (scores - thresholds) / (1.0 - thresholds)
    return torch.where(scores <= thresholds, below, above)


class ThresholdTuner(Metric):
    """Per-label counts of TP/FP/FN at each candidate threshold, summed across processes."""

    full_state_update = False

    def __init__(self, num_labels: int, candidates: Tensor) -> None:
        super().__init__()
        self.register_buffer("candidates", candidates.float(), persistent=False)
        shape = (len(candidates), num_labels)
        for name in ("tp", "fp", "fn"):
            self.add_state(name, default=torch.zeros(shape), dist_reduce_fx="sum")

    def update(self, scores: Tensor, target: Tensor) -> None:
        predicted = scores.unsqueeze(0) > self.candidates.view(-1, 1, 1)  # (G, N, L)
        actual = target.bool().unsqueeze(0)
        self.tp += (predicted & actual).sum(1)
        self.fp += (predicted & ~actual).sum(1)
        self.fn += (~predicted & actual).sum(1)

    def compute(self) -> Tensor:
        """F1 per candidate and label, ``(G, L)``; 0 where a label has neither TP, FP nor FN."""
        return scores_from_counts(self.tp, self.fp, self.fn)["f1"]


class MultilabelTask(Task):
    def __init__(
        self,
        num_labels: int,
        loss: str = "bce",
        threshold: float = 0.5,
        tune_thresholds: bool = False,
        threshold_candidates: int = 19,
        monitor: str = "val/exact_match",
        monitor_mode: str = "max",
        **task_kwargs,
    ) -> None:
        require_choice("model.loss", loss, LOSSES)
        require_probability("model.threshold", threshold)
        require_positive_integer("model.threshold_candidates", threshold_candidates)
        self.num_labels = num_labels
        super().__init__(monitor=monitor, monitor_mode=monitor_mode, **task_kwargs)
        self.loss_name = loss
        self.loss_fn = {
            "bce": nn.BCEWithLogitsLoss(),
            "soft_margin": nn.MultiLabelSoftMarginLoss(),
            "normalized_ce": normalized_cross_entropy,
        }[loss]
        self.register_buffer("thresholds", torch.full((num_labels,), float(threshold)))
        self.tune_thresholds = tune_thresholds
        # Evenly spaced in (0, 1), plus the configured threshold so "no change" is a candidate.
        grid = torch.arange(1, threshold_candidates + 1) / (threshold_candidates + 1)
        candidates = torch.cat([torch.tensor([float(threshold)]), grid])
        self.threshold_tuner = ThresholdTuner(num_labels, candidates)
        self._tuning = False

    def build_metrics(self) -> MetricCollection:
        # Scores reach the metrics already rescaled so that every label's threshold is 0.5.
        return multilabel_metrics(self.num_labels, threshold=0.5)

    def label_scores(self, output: Tensor) -> Tensor:
        """Probability-like score per label: softmax for normalized_ce, sigmoid otherwise."""
        return output.softmax(-1) if self.loss_name == "normalized_ce" else output.sigmoid()

    def compute_loss(self, output: Tensor, target: Tensor) -> Tensor:
        return self.loss_fn(output, target.to(output.dtype))

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.label_scores(output)
        if self._tuning:
            self.threshold_tuner.update(scores, target)
        return rescale_to_half(scores, self.thresholds), target

    def predict_outputs(self, output: Tensor) -> Tensor:
        return self.label_scores(output)

    def decide(self, outputs: Tensor) -> tuple[Tensor, Tensor]:
        """0/1 label sets under the per-label thresholds, and the label scores."""
        return (outputs > self.thresholds).long(), outputs

    def confusion_metric(self) -> Metric:
        # metric_inputs rescales scores so that each label's threshold sits at 0.5
        return MultilabelConfusionMatrix(self.num_labels, threshold=0.5)

    def on_validation_epoch_start(self) -> None:
        fitting = self.trainer.state.fn == "fit" and not self.trainer.sanity_checking
        self._tuning = self.tune_thresholds and fitting
        self.threshold_tuner.reset()

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        if self._tuning:
            self._tuning = False
            self.thresholds.copy_(self.best_thresholds())

    def best_thresholds(self) -> Tensor:
        """Per label, the candidate with the highest validation F1 (the configured one on ties)."""
        f1 = self.threshold_tuner.compute()
        best = f1.argmax(0)
        keep = f1[0] >= f1.max(0).values
        candidates = self.threshold_tuner.candidates
        return torch.where(keep, candidates[0], candidates[best])
