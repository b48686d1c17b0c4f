"""Regression: real-valued outputs, a squared (or absolute/Huber) loss."""

from torch import Tensor, nn
from torchmetrics import MetricCollection

from dlbasics.metrics import regression_metrics
from dlbasics.tasks.base import Task
from dlbasics.utils.checks import require_choice

LOSSES = {"mse": nn.MSELoss, "l1": nn.L1Loss, "huber": nn.HuberLoss}


class RegressionTask(Task):
    def __init__(self, loss: str = "mse", **task_kwargs) -> None:
        require_choice("model.loss", loss, LOSSES)
        super().__init__(**task_kwargs)
        self.loss_fn = LOSSES[loss]()

    def build_metrics(self) -> MetricCollection:
        return regression_metrics()

    def compute_loss(self, output: Tensor, target: Tensor) -> Tensor:
        return self.loss_fn(output, target.view_as(output))

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return output.flatten(), target.flatten()
