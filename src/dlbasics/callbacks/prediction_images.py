"""A grid of validation images titled with predicted and true class, misclassified first.

Looking at what the model gets wrong (a shirt called a T-shirt, a 4 called
a 9) says more about a classifier than one more accuracy point.
"""

import logging
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from torch import Tensor

from dlbasics.callbacks.inspection import check_every
from dlbasics.utils.figures import log_figure

log = logging.getLogger("dlbasics")

TAG = "predictions/val"
LABEL_PX = 14  # blank strip above each tile for its caption
GAP_PX = 4


def misclassified_first(predicted: Tensor, target: Tensor, count: int) -> Tensor:
    """Indices of ``count`` examples: the wrong ones first, each group in data order."""
    correct = (predicted == target).to(torch.int8)
    return torch.argsort(correct, stable=True)[:count]


def _as_tiles(images: Tensor) -> np.ndarray:
    """``(N, C, H, W)`` or ``(N, H, W)`` → ``(N, H, W, 3)`` in [0, 1], each image min-max scaled
    (inputs are normalised; the picture only needs contrast)."""
    x = images.detach().float().cpu()
    if x.ndim == 3:
        x = x.unsqueeze(1)
    x = x[:, :3].expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]
    low = x.amin(dim=(1, 2, 3), keepdim=True)
    high = x.amax(dim=(1, 2, 3), keepdim=True)
    x = (x - low) / (high - low).clamp_min(1e-12)
    return x.permute(0, 2, 3, 1).numpy()


def prediction_grid(
    images: Tensor,
    predicted: Sequence[int],
    target: Sequence[int],
    class_names: Sequence[str],
    columns: int = 8,
) -> Figure:
    """One mosaic image with a caption per tile: ``predicted`` over ``(true)``, red if wrong.

    A single ``imshow`` plus text keeps this at tens of milliseconds, so it can
    run every epoch (a subplot per image costs about a second).
    """
    tiles = _as_tiles(images)
    count, height, width, _ = tiles.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    cell_h, cell_w = height + LABEL_PX + GAP_PX, width + GAP_PX
    mosaic = np.ones((rows * cell_h, columns * cell_w, 3))
    figure, axes = plt.subplots(figsize=(1.4 * columns, 1.7 * rows))
    for i in range(count):
        top, left = (i // columns) * cell_h + LABEL_PX, (i % columns) * cell_w
        mosaic[top : top + height, left : left + width] = tiles[i]
        wrong = predicted[i] != target[i]
        axes.text(
            left + width / 2,
            top - 1,
            f"{class_names[predicted[i]]}\n({class_names[target[i]]})",
            ha="center",
            va="bottom",
            fontsize=6,
            color="red" if wrong else "black",
        )
    axes.imshow(mosaic, interpolation="nearest")
    axes.set_axis_off()
    axes.set_title("predicted (true); red = misclassified", fontsize=8)
    return figure


class PredictionImages(pl.Callback):
    """Logs ``predictions/val`` from the first validation batch every ``every_n_epochs`` epochs.

    Runs only for image inputs (``(N, C, H, W)`` or ``(N, H, W)``) and a
    net that outputs one logit per class; otherwise it logs one note and stays quiet.
    """

    def __init__(self, num_images: int = 16, every_n_epochs: int = 1, columns: int = 8) -> None:
        self.num_images = check_every("prediction_images.num_images", num_images)
        self.every_n_epochs = check_every("prediction_images.every_n_epochs", every_n_epochs)
        self.columns = check_every("prediction_images.columns", columns)
        self._skipped = False

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx != 0 or dataloader_idx != 0 or trainer.sanity_checking or self._skipped:
            return
        if trainer.current_epoch % self.every_n_epochs != 0:
            return
        images, target = batch[0], batch[1]
        logits = pl_module(images)
        if images.ndim not in (3, 4) or logits.ndim != 2 or logits.shape[1] < 2:
            self._skipped = True
            log.info(
                "prediction_images: inputs %s / outputs %s are not images and class logits;"
                " no prediction grid",
                tuple(images.shape),
                tuple(logits.shape),
            )
            return
        predicted = logits.argmax(dim=1)
        index = misclassified_first(predicted, target, self.num_images).cpu()
        names = getattr(trainer.datamodule, "class_names", None) or [
            str(i) for i in range(logits.shape[1])
        ]
        figure = prediction_grid(
            images[index.to(images.device)],
            predicted.cpu()[index].tolist(),
            target.cpu()[index].tolist(),
            names,
            self.columns,
        )
        log_figure(trainer, TAG, figure)
