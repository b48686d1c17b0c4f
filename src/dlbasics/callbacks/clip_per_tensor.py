"""Clip each parameter tensor's gradient to an L2 norm of its own (NNDL's ``ClipGradByNorm``).

``trainer.gradient_clip_val`` clips the norm of all gradients together, so one exploding
tensor scales every other one down with it; this callback clips every tensor separately,
as the book does in its exploding-gradient experiment (NNDL 6.2.3). It runs in
``on_before_optimizer_step``: list it after ``grad_norms`` so the monitor logs the norms
before clipping.
"""

import pytorch_lightning as pl
import torch
from torch.optim import Optimizer

from dlbasics.utils.checks import require_positive


class ClipGradPerTensor(pl.Callback):
    def __init__(self, max_norm: float = 5.0) -> None:
        self.max_norm = require_positive("callbacks.clip_per_tensor.max_norm", max_norm)

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer
    ) -> None:
        for parameter in pl_module.parameters():
            if parameter.grad is not None:
                torch.nn.utils.clip_grad_norm_(parameter, self.max_norm)
