"""Log ‖w‖₂ of the weights (not the biases) so metrics.json shows what weight decay did."""

import pytorch_lightning as pl
import torch

from dlbasics.nets.parameters import is_weight


def weight_l2_norm(module: torch.nn.Module) -> float:
    """Euclidean norm of all weights (``nets.parameters``: biases and norm scales left out)."""
    squares = [p.detach().pow(2).sum() for p in module.parameters() if is_weight(p)]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


class WeightNorm(pl.Callback):
    """Logs ``val/weight_l2`` after every validation epoch (it lands in metrics.json)."""

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        pl_module.log("val/weight_l2", weight_l2_norm(pl_module))
