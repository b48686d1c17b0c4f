"""Histograms of every parameter tensor and its gradient, every N epochs (TensorBoard only).

Distributions show what scalars hide: weights collapsing to zero under
weight decay, saturating, or a layer whose gradients are all zero.
"""

import logging
from typing import Any

import pytorch_lightning as pl
from torch.optim import Optimizer

from dlbasics.callbacks.inspection import check_every, tensorboard_writers

log = logging.getLogger("dlbasics")


class ParamHistograms(pl.Callback):
    """``weights/<param>`` at each logged epoch's end, ``grads/<param>`` at its first step.

    Histogramming copies every parameter to the CPU; for nets above
    ``max_params`` parameters the callback switches itself off with a warning.
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        weights: bool = True,
        grads: bool = True,
        max_params: int = 5_000_000,
    ) -> None:
        self.every_n_epochs = check_every("histograms.every_n_epochs", every_n_epochs)
        self.weights = weights
        self.grads = grads
        self.max_params = max_params
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
            data = values.detach().float().cpu()
            for writer in writers:
                writer.add_histogram(f"{kind}/{name}", data, global_step=trainer.global_step)

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
