"""Binary classification: one logit per sample, BCE-with-logits loss, P(class 1) out."""

import torch
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import BinaryConfusionMatrix

from dlbasics.errors import DataError
from dlbasics.metrics import binary_metrics
from dlbasics.tasks.base import Task


class BinaryClassificationTask(Task):
    """For nets with ``out_features=1`` (``LogisticRegression``, an ``MLP`` with one output).

    Targets are the class ids 0/1 as the data sets give them; the decision
    threshold is ``threshold`` on the probability (0.5: logit > 0).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        monitor: str = "val/acc",
        monitor_mode: str = "max",
        **task_kwargs,
    ) -> None:
        self.threshold = threshold
        super().__init__(monitor=monitor, monitor_mode=monitor_mode, **task_kwargs)
        self.loss_fn = nn.BCEWithLogitsLoss()

    def build_metrics(self) -> MetricCollection:
        return binary_metrics(self.threshold)

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        if output.ndim != 2 or output.shape[1] != 1:
            raise DataError(
                f"binary classification needs one logit per sample, shape (N, 1), got "
                f"{tuple(output.shape)}; set the net's out_features to 1"
            )
        bad = (target != 0) & (target != 1)
        if bool(bad.any()):
            raise DataError(
                f"binary targets must be 0 or 1, found {target[bad][0].item()!r}; use "
                f"model=softmax or model=mlp for more than two classes"
            )
        return output[:, 0], target.long()

    def compute_loss(self, output: Tensor, target: Tensor) -> Tensor:
        return self.loss_fn(output[:, 0], target.float())

    def predict_outputs(self, output: Tensor) -> Tensor:
        return output.sigmoid()

    def decide(self, outputs: Tensor) -> tuple[Tensor, Tensor]:
        """Class 1 where P(class 1) > threshold, and the probability of the chosen class."""
        positive = outputs[:, 0]
        predicted = (positive > self.threshold).long()
        return predicted, torch.where(predicted == 1, positive, 1 - positive)

    def confusion_metric(self) -> Metric:
        return BinaryConfusionMatrix(threshold=self.threshold)
