"""Helpers for the callback tests: a short in-process run and what it wrote to TensorBoard."""

from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dlbasics.train import train

QUICK = [
    "trainer=cpu",
    "trainer.max_epochs=1",
    "++trainer.limit_train_batches=2",
    "++trainer.limit_val_batches=1",
    "++trainer.limit_test_batches=1",
]


def quick_run(
    compose_config: Callable[..., DictConfig],
    run_dir: Path,
    data_dir: Path | None,
    *overrides: str,
) -> tuple[DictConfig, dict]:
    """Train for a couple of batches (on the generated IDX files in ``data_dir``, if given);
    everything lands in ``run_dir``."""
    images = [f"paths.data_dir={data_dir}", "data.val_size=100"] if data_dir else []
    cfg = compose_config([*QUICK, *images, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    return cfg, train(cfg)


def load_events(run_dir: Path) -> EventAccumulator:
    """Every event (no down-sampling) of the run's ``tensorboard/`` folder."""
    events = EventAccumulator(
        str(run_dir / "tensorboard"),
        size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0},
    )
    events.Reload()
    return events


def scalars(events: EventAccumulator, tag: str) -> dict[int, float]:
    """``{step: value}`` of one scalar tag."""
    return {event.step: event.value for event in events.Scalars(tag)}
