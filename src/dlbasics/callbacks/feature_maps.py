"""What the first convolution learned: its filters, and the maps it makes of a few images.

Logged as ``feature_maps/val``: the top row holds the first ``max_channels``
filters (an RGB kernel as colour, otherwise its first input channel), each later
row one validation image followed by that layer's output channels for it. Every
tile is min-max scaled on its own, so the picture shows patterns, not magnitudes.
"""

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from dlbasics.callbacks.figure_data import FirstValidationBatch
from dlbasics.callbacks.prediction_images import GAP_PX, as_tiles
from dlbasics.utils.checks import require_positive_integer
from dlbasics.utils.figures import log_image

TAG = "feature_maps/val"


def first_conv(module: nn.Module) -> nn.Conv2d | None:
    """The first ``nn.Conv2d`` in definition order (the written-out one subclasses it)."""
    return next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)


def mosaic(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of ``(N, h, w, 3)`` uint8 tiles on a white sheet, each tile in a cell of the
    largest tile's size."""
    cell_h = max(row.shape[1] for row in rows) + GAP_PX
    cell_w = max(row.shape[2] for row in rows) + GAP_PX
    sheet = np.full((len(rows) * cell_h, max(len(r) for r in rows) * cell_w, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            top, left = r * cell_h + GAP_PX // 2, c * cell_w + GAP_PX // 2
            sheet[top : top + tile.shape[0], left : left + tile.shape[1]] = tile
    return sheet


def feature_map_sheet(images: Tensor, filters: Tensor, maps: Tensor) -> np.ndarray:
    """``images (n, C, H, W)``, the conv's ``filters (O, C, k, k)`` and its ``maps (n, O, h, w)``
    as one picture: filters on top, then each image beside its maps."""
    shown = filters if filters.shape[1] == 3 else filters[:, :1]
    rows = [as_tiles(shown)]
    for image, image_maps in zip(images, maps, strict=True):
        rows.append(np.concatenate([as_tiles(image[None]), as_tiles(image_maps[:, None])]))
    return mosaic(rows)


class FeatureMaps(FirstValidationBatch):
    """Logs ``feature_maps/val`` from the first validation batch every ``every_n_epochs``."""

    def __init__(self, num_images: int = 4, max_channels: int = 16, every_n_epochs: int = 1):
        super().__init__("callbacks.feature_maps", every_n_epochs)
        self.num_images = require_positive_integer("callbacks.feature_maps.num_images", num_images)
        self.max_channels = require_positive_integer(
            "callbacks.feature_maps.max_channels", max_channels
        )

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
        conv = first_conv(pl_module)
        if conv is None:
            self.skip("feature_maps: the net has no Conv2d layer; no feature-map figure")
            return
        images = batch[0][: self.num_images]
        captured: list[Tensor] = []
        hook = conv.register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
        try:
            with torch.no_grad():  # a second forward of a few images: the outputs are not kept
                pl_module(images)
        finally:
            hook.remove()
        channels = slice(0, self.max_channels)
        sheet = feature_map_sheet(
            images.cpu(), conv.weight.detach()[channels].cpu(), captured[0][:, channels].cpu()
        )
        log_image(trainer, TAG, sheet, step=trainer.global_step)
