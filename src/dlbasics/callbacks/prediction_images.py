"""A grid of validation images titled with predicted and true class, misclassified first.

Looking at what the model gets wrong (a shirt called a T-shirt, a 4 called
a 9) says more about a classifier than one more accuracy point.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from dlbasics.callbacks.figure_data import FirstValidationBatch
from dlbasics.utils.checks import require_positive_integer
from dlbasics.utils.figures import log_image

TAG = "predictions/val"
TITLE = "predicted (true); red = misclassified"
FONT_PX = 10
LABEL_PX = 2 * FONT_PX + 6  # strip above each tile for its two-line caption
TITLE_PX = FONT_PX + 8
GAP_PX = 4
MIN_TILE_PX = 84  # small images (28 px) are enlarged so that a class name fits under them
BLACK, RED, WHITE = (0, 0, 0), (255, 0, 0), (255, 255, 255)


@lru_cache(maxsize=1)
def caption_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans from matplotlib's own files (always installed), loaded once per process."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), FONT_PX) if path.is_file() else ImageFont.load_default()


def misclassified_first(predicted: Tensor, target: Tensor, count: int) -> Tensor:
    """Indices of ``count`` examples: the wrong ones first, each group in data order."""
    correct = (predicted == target).to(torch.int8)
    return torch.argsort(correct, stable=True)[:count]


def as_tiles(images: Tensor) -> np.ndarray:
    """``(N, C, H, W)`` or ``(N, H, W)`` → ``(N, H, W, 3)`` uint8, each image min-max scaled
    (inputs are normalised; the picture only needs contrast) and enlarged to at least
    ``MIN_TILE_PX`` wide by repeating pixels."""
    x = images.detach().float().cpu().numpy()
    if x.ndim == 3:
        x = x[:, None]
    x = np.repeat(x, 3, axis=1) if x.shape[1] == 1 else x[:, :3]
    low = x.min(axis=(1, 2, 3), keepdims=True)
    high = x.max(axis=(1, 2, 3), keepdims=True)
    tiles = (255 * (x - low) / np.maximum(high - low, 1e-12) + 0.5).astype(np.uint8)
    zoom = max(1, math.ceil(MIN_TILE_PX / tiles.shape[-1]))
    tiles = tiles.repeat(zoom, axis=2).repeat(zoom, axis=3)  # enlarge after the uint8 cast
    return tiles.transpose(0, 2, 3, 1)


@dataclass(frozen=True)
class PredictionGrid:
    """The grid's pixels and, per tile in order, its caption and whether it is an error."""

    image: np.ndarray  # (H, W, 3) uint8
    captions: list[str]
    wrong: list[bool]
    tile_boxes: list[tuple[int, int, int, int]]  # (top, left, height, width) of each image


def prediction_grid(
    images: Tensor,
    predicted: Sequence[int],
    target: Sequence[int],
    class_names: Sequence[str],
    columns: int = 8,
) -> PredictionGrid:
    """One mosaic with a caption above each tile: ``predicted`` over ``(true)``, red if wrong.

    Drawn straight into pixels with PIL instead of a matplotlib figure, whose text
    layout per caption costs more than the whole grid, so that it can run every epoch.
    """
    tiles = as_tiles(images)
    count, height, width, _ = tiles.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    cell_h, cell_w = LABEL_PX + height + GAP_PX, width + GAP_PX
    mosaic = np.full((TITLE_PX + rows * cell_h, columns * cell_w, 3), 255, dtype=np.uint8)
    boxes = []
    for i in range(count):
        top = TITLE_PX + (i // columns) * cell_h + LABEL_PX
        left = (i % columns) * cell_w + GAP_PX // 2
        mosaic[top : top + height, left : left + width] = tiles[i]
        boxes.append((top, left, height, width))
    captions = [
        f"{class_names[p]}\n({class_names[t]})" for p, t in zip(predicted, target, strict=True)
    ]
    wrong = [p != t for p, t in zip(predicted, target, strict=True)]
    picture = Image.fromarray(mosaic)
    draw = ImageDraw.Draw(picture)
    font = caption_font()
    draw.text((mosaic.shape[1] // 2, 2), TITLE, fill=BLACK, font=font, anchor="ma")
    for (top, left, _, _), caption, error in zip(boxes, captions, wrong, strict=True):
        draw.multiline_text(
            (left + width // 2, top - LABEL_PX + 2),
            caption,
            fill=RED if error else BLACK,
            font=font,
            anchor="ma",
            align="center",
            spacing=2,
        )
    return PredictionGrid(np.asarray(picture), captions, wrong, boxes)


class PredictionImages(FirstValidationBatch):
    """Logs ``predictions/val`` from the first validation batch every ``every_n_epochs`` epochs.

    Runs only for image inputs (``(N, C, H, W)`` or ``(N, H, W)``) and a task that
    decides one class per image (``Task.predicted_labels``); otherwise it logs one note
    and stays quiet.
    """

    def __init__(self, num_images: int = 16, every_n_epochs: int = 1, columns: int = 8) -> None:
        super().__init__("callbacks.prediction_images", every_n_epochs)
        self.num_images = require_positive_integer(
            "callbacks.prediction_images.num_images", num_images
        )
        self.columns = require_positive_integer("callbacks.prediction_images.columns", columns)

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not self.is_due(trainer, batch_idx, dataloader_idx):
            return
        images, target = batch[0], batch[1]
        if not isinstance(images, Tensor) or images.ndim not in (3, 4):  # e.g. token sequences
            self.skip("prediction_images: the inputs are not images; no prediction grid")
            return
        predicted = pl_module.predicted_labels(pl_module(images))
        if predicted is None or predicted.ndim != 1:
            self.skip(
                "prediction_images: %s are not one class per image; no prediction grid",
                "no labels" if predicted is None else f"labels {tuple(predicted.shape)}",
            )
            return
        index = misclassified_first(predicted, target, self.num_images).cpu()
        names = [str(name) for name in trainer.datamodule.class_names]
        grid = prediction_grid(
            images[index.to(images.device)],
            predicted.cpu()[index].tolist(),
            target.cpu()[index].tolist(),
            names,
            self.columns,
        )
        log_image(trainer, TAG, grid.image)
