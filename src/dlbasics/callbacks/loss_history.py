"""Per-epoch train and validation loss kept in the run dir, with a figure of both curves.

The table (``loss_history.csv``) is what a sweep-level figure overlays, so
several runs can be compared without reading TensorBoard event files.
"""

import csv
import math
from pathlib import Path

import pytorch_lightning as pl

from dlbasics.utils.figures import log_figure, plt

HISTORY_FILE = "loss_history.csv"
COLUMNS = ("epoch", "train/loss", "val/loss")


def read_history(run_dir: str | Path) -> dict[str, list[float]]:
    """The columns of a run's ``loss_history.csv`` as lists of floats."""
    with (Path(run_dir) / HISTORY_FILE).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: [float(row[name]) for row in rows] for name in COLUMNS}


class LossHistory(pl.Callback):
    """Records the epoch means of ``train/loss`` and ``val/loss`` after every training epoch."""

    def __init__(self, tag: str = "figures/loss_curves", log_scale: bool = True) -> None:
        self.tag = tag
        self.log_scale = log_scale
        self.rows: list[tuple[int, float, float]] = []

    def _record(self, trainer: pl.Trainer, epoch: int) -> None:
        # Lightning fills the epoch means of train/* only after on_train_epoch_end, so epoch
        # e is read at the start of epoch e + 1 (and after the last one at on_train_end).
        metrics = trainer.callback_metrics
        if "train/loss" not in metrics or (self.rows and self.rows[-1][0] == epoch):
            return
        val = float(metrics["val/loss"]) if "val/loss" in metrics else math.nan
        self.rows.append((epoch, float(metrics["train/loss"]), val))

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch > 0:
            self._record(trainer, trainer.current_epoch - 1)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._record(trainer, trainer.current_epoch - 1)
        if not trainer.is_global_zero or not self.rows:
            return
        with (Path(trainer.default_root_dir) / HISTORY_FILE).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(self.rows)
        epochs = [row[0] + 1 for row in self.rows]
        figure, axes = plt.subplots(figsize=(6, 4))
        axes.plot(epochs, [row[1] for row in self.rows], label="train loss")
        axes.plot(epochs, [row[2] for row in self.rows], label="val loss")
        if self.log_scale:
            axes.set_yscale("log")
        axes.set(xlabel="epoch", ylabel="loss")
        axes.legend()
        log_figure(trainer, self.tag, figure)
