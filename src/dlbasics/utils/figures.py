"""One way for every figure to leave a run: TensorBoard image + PNG in the run dir.

The PNG is encoded once and TensorBoard gets the file's own bytes: ``add_image``
would convert the pixels to float and encode them again, which costs more than
drawing a prediction grid.
"""

import io
import re
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are written to files, never shown; no display needed

import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
import pytorch_lightning as pl
from matplotlib.figure import Figure
from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard import SummaryWriter

from dlbasics.compat import file_writer
from dlbasics.utils.loggers import EVENTS_GLOB, tensorboard_writers

__all__ = [
    "FIGURES_DIR",
    "add_png_files",
    "figure_path",
    "log_figure",
    "log_image",
    "plt",
    "png_summary",
]

FIGURES_DIR = "figures"


def figure_path(run_dir: str | Path, tag: str) -> Path:
    """``figures/<tag with / replaced by _>.png`` inside the run dir."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag).strip("_")
    return Path(run_dir) / FIGURES_DIR / f"{name}.png"


def log_figure(trainer: pl.Trainer, tag: str, figure: Figure, step: int | None = None) -> Path:
    """Send ``figure`` to every TensorBoard logger of ``trainer`` and save it as PNG.

    Only the global-zero process writes. The figure is closed afterwards.
    Returns the PNG path (also on other ranks, where nothing is written).
    """
    path = figure_path(trainer.default_root_dir, tag)
    if trainer.is_global_zero:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
        _add_png(trainer, tag, path.read_bytes(), step)
    plt.close(figure)
    return path


def log_image(trainer: pl.Trainer, tag: str, image: np.ndarray, step: int | None = None) -> Path:
    """Like :func:`log_figure` for a picture that is already pixels (``(H, W, 3)`` uint8),
    for images logged often (a prediction grid every epoch): no matplotlib render at all."""
    path = figure_path(trainer.default_root_dir, tag)
    if trainer.is_global_zero:
        path.parent.mkdir(parents=True, exist_ok=True)
        encoded = io.BytesIO()
        # Level 1 takes half the time of PIL's default 6 for a file ~6 % larger.
        PIL.Image.fromarray(image).save(encoded, format="PNG", compress_level=1)
        png = encoded.getvalue()
        path.write_bytes(png)
        _add_png(trainer, tag, png, step)
    return path


def png_summary(tag: str, png: bytes) -> Summary:
    """A TensorBoard image summary holding already-encoded PNG bytes."""
    picture = PIL.Image.open(io.BytesIO(png))  # reads the header only
    image = Summary.Image(
        height=picture.height,
        width=picture.width,
        colorspace=len(picture.getbands()),
        encoded_image_string=png,
    )
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def add_png_files(log_dir: str | Path, pngs: Mapping[str, Path]) -> None:
    """Write PNG files (tag → path) as images into a TensorBoard log dir of their own, for
    figures drawn outside a trainer (the figures at a sweep's root). Earlier event files
    there are replaced: redrawing a resumed sweep's figures must not show them twice."""
    for old in Path(log_dir).glob(EVENTS_GLOB):
        old.unlink()
    writer = SummaryWriter(str(log_dir))
    try:
        for tag, path in pngs.items():
            file_writer(writer).add_summary(png_summary(tag, Path(path).read_bytes()), 0)
    finally:
        writer.close()


def _add_png(trainer: pl.Trainer, tag: str, png: bytes, step: int | None) -> None:
    writers = tensorboard_writers(trainer)
    if not writers:
        return
    summary = png_summary(tag, png)
    for writer in writers:
        file_writer(writer).add_summary(summary, trainer.global_step if step is None else step)
