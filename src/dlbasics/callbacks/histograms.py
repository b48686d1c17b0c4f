"""Histograms of every parameter tensor and its gradient, every N epochs (TensorBoard only).

Distributions show what scalars hide: weights collapsing to zero under
weight decay, saturating, or a layer whose gradients are all zero.
"""

import logging
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.optim import Optimizer

from dlbasics.utils.checks import require_positive_integer
from dlbasics.utils.loggers import tensorboard_writers

log = logging.getLogger("dlbasics")


def histogram(values: Tensor, bins: int) -> dict[str, Any]:
    """The keyword arguments of ``SummaryWriter.add_histogram_raw`` for ``values``: ``bins``
    equal-width buckets from min to max, counted by torch on the tensor's own device.

    ``add_histogram`` copies the tensor to numpy and sorts it into ~1500 exponential
    buckets, which costs more than the rest of the callback; TensorBoard re-bins for
    display anyway.
    """
    x = values.detach().flatten().double()  # double: sums as exact as numpy's
    low, high = float(x.min()), float(x.max())
    if high > low:
        counts = torch.histc(x, bins, min=low, max=high).tolist()
        limits = torch.linspace(low, high, bins + 1, dtype=torch.float64)[1:].tolist()
    else:  # every value equal (e.g. zero-initialised biases): one bucket
        counts, limits = [float(x.numel())], [high]
    return {
        "min": low,
        "max": high,
        "num": x.numel(),
        "sum": float(x.sum()),
        "sum_squares": float(x.dot(x)),
        "bucket_limits": limits,
        "bucket_counts": counts,
    }


class ParamHistograms(pl.Callback):
    """``weights/<param>`` at each logged epoch's end, ``grads/<param>`` at its first step.

    Histogramming reads every parameter; for nets above ``max_params`` parameters the
    callback switches itself off with a warning.
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        weights: bool = True,
        grads: bool = True,
        max_params: int = 5_000_000,
        bins: int = 64,
    ) -> None:
        self.every_n_epochs = require_positive_integer(
            "callbacks.histograms.every_n_epochs", every_n_epochs
        )
        self.bins = require_positive_integer("callbacks.histograms.bins", bins)
        self.weights = weights
        self.grads = grads
        self.max_params = require_positive_integer("callbacks.histograms.max_params", max_params)
        self.enabled = True
        self._first_batch = False

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        count = sum(p.numel() for p in pl_module.parameters())
        if count > self.max_params:
            self.enabled = False
            log.warning(
                "histograms: the model has %d parameters (> callbacks.histograms.max_params=%d);"
                " no histograms are logged",
                count,
                self.max_params,
            )

    def _due(self, trainer: pl.Trainer) -> bool:
        return (
            self.enabled
            and trainer.is_global_zero
            and trainer.current_epoch % self.every_n_epochs == 0
        )

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, kind: str) -> None:
        writers = tensorboard_writers(trainer)
        for name, param in pl_module.named_parameters():
            values = param if kind == "weights" else param.grad
            if values is None:
                continue
            summary = histogram(values, self.bins)
            for writer in writers:
                writer.add_histogram_raw(
                    f"{kind}/{name}", **summary, global_step=trainer.global_step
                )

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._first_batch = batch_idx == 0

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer
    ) -> None:
        if self.grads and self._first_batch and self._due(trainer):
            self._write(trainer, pl_module, "grads")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.weights and self._due(trainer):
            self._write(trainer, pl_module, "weights")
