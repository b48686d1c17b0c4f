"""One way for every figure to leave a run: TensorBoard image + PNG in the run dir."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are written to files, never shown; no display needed

import matplotlib.pyplot as plt
import pytorch_lightning as pl
from matplotlib.figure import Figure
from pytorch_lightning.loggers import TensorBoardLogger

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
        step = trainer.global_step if step is None else step
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
        # TensorBoard gets the PNG just written: one render instead of two (a figure logged
        # every epoch, e.g. prediction images, costs half), and both show the same picture.
        image = None
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                image = plt.imread(path)[..., :3] if image is None else image
                logger.experiment.add_image(tag, image, global_step=step, dataformats="HWC")
    plt.close(figure)
    return path
