"""A callback for the DDP tests: every process saves the weights it ends with."""

from pathlib import Path

import pytorch_lightning as pl
import torch


class SaveWeightsPerRank(pl.Callback):
    def __init__(self, out: str) -> None:
        self.out = Path(out)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        weights = {k: v.detach().cpu() for k, v in pl_module.net.state_dict().items()}
        torch.save(weights, self.out / f"rank{trainer.global_rank}.pt")
