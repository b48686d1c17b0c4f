"""Gradient norm of every parameter tensor plus the global norm, every N optimizer steps.

The per-layer curves are how vanishing and exploding gradients show: with
Sigmoid in a deep MLP the first layer's norm sits orders of magnitude below
the last layer's (``experiment=nndl/vanishing_gradients``).
"""

import pytorch_lightning as pl
import torch
from torch import nn
from torch.optim import Optimizer

from dlbasics.callbacks.inspection import log_scalars
from dlbasics.utils.checks import require_positive, require_positive_integer

TAG = "grad_norm"


def gradient_norms(module: nn.Module, norm_type: float = 2.0) -> dict[str, float]:
    """``{"grad_norm/<param name>": ‖g‖, "grad_norm/total": ‖all g‖}`` with one device sync."""
    named = [(name, p.grad) for name, p in module.named_parameters() if p.grad is not None]
    if not named:
        return {}
    norms = torch.stack([torch.linalg.vector_norm(g.detach(), norm_type) for _, g in named])
    total = torch.linalg.vector_norm(norms, norm_type)
    values = torch.cat([norms, total.unsqueeze(0)]).tolist()
    names = [f"{TAG}/{name}" for name, _ in named] + [f"{TAG}/total"]
    return dict(zip(names, values, strict=True))


class GradNormMonitor(pl.Callback):
    """Logs ``grad_norm/<param>`` and ``grad_norm/total`` every ``every_n_steps`` steps.

    Runs just before the optimizer step, so the norms are those the step
    uses (after mixed-precision unscaling, before clipping by the optimizer).
    """

    def __init__(self, every_n_steps: int = 50, norm_type: float = 2.0) -> None:
        self.every_n_steps = require_positive_integer(
            "callbacks.grad_norms.every_n_steps", every_n_steps
        )
        # 2.0: Euclidean; inf: the largest |g|; a p <= 0 is no norm
        if isinstance(norm_type, str) and norm_type.strip().lower().lstrip("+.") == "inf":
            norm_type = float("inf")  # YAML reads a plain inf as a string
        self.norm_type = require_positive("callbacks.grad_norms.norm_type", norm_type)

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer
    ) -> None:
        if trainer.global_step % self.every_n_steps == 0:
            log_scalars(trainer, gradient_norms(pl_module, self.norm_type))
