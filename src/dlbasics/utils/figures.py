"""One way for every figure to leave a run: TensorBoard image + PNG in the run dir."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are written to files, never shown; no display needed

import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
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
        # TensorBoard gets the PNG just written: one render instead of two, and both show
        # the same picture.
        if _tensorboard_loggers(trainer):
            _add_image(trainer, tag, plt.imread(path)[..., :3], step)
    plt.close(figure)
    return path


def log_image(trainer: pl.Trainer, tag: str, image: np.ndarray, step: int | None = None) -> Path:
    """Like :func:`log_figure` for a picture that is already pixels (``(H, W, 3)`` uint8).

    For images logged often (a prediction grid every epoch): no matplotlib render at all,
    which costs tens of milliseconds of CPU per figure.
    """
    path = figure_path(trainer.default_root_dir, tag)
    if trainer.is_global_zero:
        path.parent.mkdir(parents=True, exist_ok=True)
        PIL.Image.fromarray(image).save(path)
        _add_image(trainer, tag, image, trainer.global_step if step is None else step)
    return path


def _tensorboard_loggers(trainer: pl.Trainer) -> list[TensorBoardLogger]:
    return [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]


def _add_image(trainer: pl.Trainer, tag: str, image: np.ndarray, step: int) -> None:
    for logger in _tensorboard_loggers(trainer):
        logger.experiment.add_image(tag, image, global_step=step, dataformats="HWC")
