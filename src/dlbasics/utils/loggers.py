"""A trainer's TensorBoard loggers, and scalars read back from a run's event files.

Histograms, images, text and HParams sessions have no logger-neutral API in
Lightning, so the code that writes them goes through the TensorBoard loggers
found here; every other logger simply does not get them.
"""

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

EVENTS_GLOB = "events.out.tfevents.*"


def tensorboard_loggers(trainer: pl.Trainer) -> list[TensorBoardLogger]:
    return [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]


def tensorboard_writers(trainer: pl.Trainer) -> list[SummaryWriter]:
    return [logger.experiment for logger in tensorboard_loggers(trainer)]


def read_scalars(run_dir: str | Path, tag: str) -> list[tuple[int, float]]:
    """``(step, value)`` of every event of ``tag`` under ``<run_dir>/tensorboard``, in the
    order they were logged (event files sorted by name, which starts with their time)."""
    points: list[tuple[int, float]] = []
    for events in sorted((Path(run_dir) / "tensorboard").glob(EVENTS_GLOB)):
        accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0})
        accumulator.Reload()
        if tag in accumulator.Tags().get("scalars", []):
            points += [(event.step, event.value) for event in accumulator.Scalars(tag)]
    return points
