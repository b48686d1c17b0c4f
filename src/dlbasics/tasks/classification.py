"""Single-label classification: logits in, cross-entropy loss, class probabilities out."""

from collections.abc import Sequence

from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassConfusionMatrix

from dlbasics.metrics import classification_metrics
from dlbasics.tasks.base import Task
from dlbasics.utils.checks import require_choice, require_fraction


class ClassificationTask(Task):
    def __init__(
        self,
        num_classes: int,
        top_k: Sequence[int] = (5,),
        label_smoothing: float = 0.0,
        monitor: str = "val/acc",
        monitor_mode: str = "max",
        train_metrics: Sequence[str] | None = ("acc",),
        loss_reduction: str = "mean",
        **task_kwargs,
    ) -> None:
        require_choice("model.loss_reduction", loss_reduction, ("mean", "sum"))
        require_fraction("model.label_smoothing", label_smoothing)  # 1 erases the labels
        self.num_classes = num_classes
        self.top_k = tuple(top_k)
        super().__init__(
            monitor=monitor, monitor_mode=monitor_mode, train_metrics=train_metrics, **task_kwargs
        )
        # sum: the book's summed cross-entropy, whose gradients grow with the batch size
        self.loss_fn = nn.CrossEntropyLoss(
            label_smoothing=label_smoothing, reduction=loss_reduction
        )

    def build_metrics(self) -> MetricCollection:
        return classification_metrics(self.num_classes, self.top_k)

    def compute_loss(self, output: Tensor, target: Tensor) -> Tensor:
        return self.loss_fn(output, target)

    def predict_outputs(self, output: Tensor) -> Tensor:
        return output.softmax(dim=-1)

    def decide(self, outputs: Tensor) -> tuple[Tensor, Tensor]:
        """The most probable class and its probability."""
        probability, predicted = outputs.max(dim=1)
        return predicted, probability

    def confusion_metric(self) -> Metric:
        return MulticlassConfusionMatrix(self.num_classes)
