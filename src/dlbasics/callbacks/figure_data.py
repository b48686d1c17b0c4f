"""What the figure callbacks share: when a validation picture is due, the data of a split,
and the model's output on a grid."""

import logging

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch import Tensor

from dlbasics.utils.checks import require_positive_integer

log = logging.getLogger("dlbasics")


class FirstValidationBatch(pl.Callback):
    """A picture drawn from the first validation batch every ``every_n_epochs`` epochs
    (never in the sanity check); :meth:`skip` turns it off for the run with one note."""

    def __init__(self, key: str, every_n_epochs: int) -> None:
        self.every_n_epochs = require_positive_integer(f"{key}.every_n_epochs", every_n_epochs)
        self._skipped = False

    def is_due(self, trainer: pl.Trainer, batch_idx: int, dataloader_idx: int) -> bool:
        if batch_idx != 0 or dataloader_idx != 0 or trainer.sanity_checking or self._skipped:
            return False
        return trainer.current_epoch % self.every_n_epochs == 0

    def skip(self, message: str, *args: object) -> None:
        self._skipped = True
        log.info(message, *args)


def split_tensors(trainer: pl.Trainer, split: str) -> tuple[Tensor, Tensor] | None:
    """Inputs (after the data set's transform) and targets of ``train``, ``val`` or ``test``.

    ``None`` when the DataModule does not keep its splits as in-memory tensors
    (``TensorBatchDataset``), so a figure is skipped instead of failing a run.
    """
    dataset = getattr(trainer.datamodule, f"{split}_set", None)
    if dataset is None or not hasattr(dataset, "inputs"):
        return None
    return dataset.transform(dataset.inputs), dataset.targets


@torch.no_grad()
def predict(pl_module: pl.LightningModule, x: Tensor) -> Tensor:
    """The net's raw output on ``x`` in eval mode; the training mode is restored after."""
    was_training = pl_module.training
    pl_module.eval()
    try:
        return pl_module(x.to(pl_module.device)).cpu()
    finally:
        pl_module.train(was_training)


def feature_count_matches(trainer: pl.Trainer, wanted: int, figure: str) -> bool:
    """Whether the data has ``wanted`` input features; warns once and skips the figure if not."""
    count = getattr(trainer.datamodule, "num_features", None)
    if count != wanted:
        rank_zero_warn(
            f"{figure} figure skipped: it needs {wanted} input feature(s), the data set has {count}"
        )
        return False
    return True
