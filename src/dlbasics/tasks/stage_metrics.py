"""What a task keeps per stage: the epoch loss and the subset of metrics it updates."""

from collections.abc import Iterable

from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection

from dlbasics.compat import StepMetric, keep_only
from dlbasics.errors import ConfigError


class BatchMean(StepMetric, MeanMetric):
    """Mean of per-batch values weighted by batch size, that keeps NaN.

    torchmetrics' MeanMetric drops NaN values with a warning by default (a diverged
    epoch would report the mean of its finite batches), and with
    ``nan_strategy="disable"`` it ignores the weights. The states are MeanMetric's
    sums, so the value is the same under DDP.
    """

    def update(self, value: Tensor, weight: float) -> None:  # type: ignore[override]
        # Once per step: skip the casts and sums that would return their input (a loss is
        # one float32 number), and add in place (``+=`` on an attribute would also route
        # through nn.Module.__setattr__); the sums are the ones ``+=`` gave, bit for bit.
        value = value.detach()
        if value.dtype != self.dtype:
            value = value.to(self.dtype)
        if value.ndim:
            value = value.sum()
        self.mean_value.add_(value * weight)
        self.weight.add_(weight)


def select_metrics(collection: MetricCollection, names: Iterable[str], key: str) -> None:
    """Keep only ``names`` in ``collection`` (e.g. the cheap ones on training batches, where
    each update runs once per optimiser step); an unknown name is an error naming ``key``."""
    names = list(names)
    available = list(collection.keys(keep_base=True))
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ConfigError(
            f"{key}: unknown metric(s) {', '.join(unknown)}; allowed values: {', '.join(available)}"
        )
    keep_only(collection, names)
