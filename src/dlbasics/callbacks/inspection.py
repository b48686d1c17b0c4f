"""What the inspection callbacks share: sending per-step diagnostics to the loggers."""

from collections.abc import Mapping

import pytorch_lightning as pl


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
