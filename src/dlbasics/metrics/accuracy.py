"""Top-1 accuracy kept as two counts, the cheapest metric a training step can update.

It equals torchmetrics' ``MulticlassAccuracy(average="micro")`` (tested), whose update
goes through the per-class stat-score machinery: on a small model's training step that
costs more than the step itself. Here an update is one argmax, one comparison, one sum
and two in-place additions; the states are sums, so torchmetrics reduces them across
processes and the value is exact under DDP.
"""

import torch
from torch import Tensor

from dlbasics.compat import StepMetric


class CountedAccuracy(StepMetric):
    """correct / seen over every update since the last reset; 0 before any sample."""

    full_state_update = False  # an update never needs the states of other updates
    is_differentiable = False
    higher_is_better = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("correct", torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("seen", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """``preds``: scores ``(N, C)`` (their argmax is the prediction) or class ids ``(N,)``."""
        predicted = preds.argmax(dim=-1) if preds.is_floating_point() else preds
        # in place, on the states' device: no new state tensor and no host sync per step
        # (``self.correct += ...`` would also route through nn.Module.__setattr__)
        self.correct.add_((predicted == target).sum())
        self.seen.add_(target.numel())

    def compute(self) -> Tensor:
        return self.correct.float() / self.seen.clamp_min(1)
