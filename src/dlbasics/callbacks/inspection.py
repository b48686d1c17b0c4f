"""What the inspection callbacks share: where their numbers go and when they are due."""

from collections.abc import Mapping

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter

from dlbasics.errors import ConfigError


def check_every(name: str, value: int) -> int:
    """Frequencies come from config; a zero or negative one would silently never log."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"callbacks.{name} must be a positive integer, got {value!r}")
    return value


def tensorboard_writers(trainer: pl.Trainer) -> list[SummaryWriter]:
    """The SummaryWriters of the trainer's TensorBoard loggers (histograms, images, HParams
    have no logger-neutral API in Lightning)."""
    return [
        logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)
    ]


def log_scalars(trainer: pl.Trainer, values: Mapping[str, float], step: int | None = None) -> None:
    """Send per-step diagnostics straight to every logger at ``step`` (default: the current
    optimizer step).

    ``LightningModule.log`` would add them to ``callback_metrics`` (and so to
    checkpoint monitors and metrics.json) and throttle them by
    ``log_every_n_steps``; diagnostics want neither.
    """
    if not values or not trainer.is_global_zero:
        return
    for logger in trainer.loggers:
        logger.log_metrics(dict(values), step=trainer.global_step if step is None else step)
