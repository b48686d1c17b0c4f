"""Epoch time with the inspection callbacks at their default frequency vs. without them.

    DLBASICS_DATA_DIR=/work/shared/data python benchmarks/callback_overhead.py

Trains ``experiment=fmnist/mlp`` on the CPU with ``callbacks=default`` and
``callbacks=inspect`` (default + gradient norms, activation stats,
histograms, prediction images, NaN guard, model summary), alternating the
two so load from other processes hits both alike, and prints the median
epoch time (training + validation, first epoch dropped as warm-up) and the
overhead in percent, both as wall time and as the process's CPU time (the
steadier number on a machine shared with other jobs). Torch runs on one
thread so the two settings compete for the same amount of CPU.
"""

import argparse
import logging
import os
import statistics
import tempfile
import time

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

import dlbasics.utils.resolvers  # noqa: F401  (registers the resolvers the configs use)
from dlbasics.utils.cli import CONFIG_DIR
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer


class EpochTimer(pl.Callback):
    """Wall time of each epoch, validation included (it runs before ``on_train_epoch_end``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {"wall": [], "cpu": []}
        self._start = (0.0, 0.0)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds["wall"].append(time.perf_counter() - self._start[0])
        self.seconds["cpu"].append(time.process_time() - self._start[1])


def epoch_times(callbacks: str, epochs: int, data_dir: str, out_dir: str) -> dict[str, list[float]]:
    overrides = [
        "experiment=fmnist/mlp",
        "trainer=cpu",
        f"trainer.max_epochs={epochs}",
        f"callbacks={callbacks}",
        f"paths.data_dir={data_dir}",
        "test=false",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = tempfile.mkdtemp(prefix=f"{callbacks}_", dir=out_dir)
    pl.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg)
    trainer = build_trainer(cfg, enable_model_summary=False)
    timer = EpochTimer()
    trainer.callbacks.append(timer)
    trainer.fit(model, datamodule=datamodule)
    return {clock: seconds[1:] for clock, seconds in timer.seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="per run; the first is dropped")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting, alternated")
    parser.add_argument("--data-dir", default=os.environ.get("DLBASICS_DATA_DIR", "data"))
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    times = {setting: {"wall": [], "cpu": []} for setting in ("default", "inspect")}
    with tempfile.TemporaryDirectory(prefix="callback_overhead_") as out_dir:
        for _ in range(args.repeats):
            for setting, clocks in times.items():
                for clock, seconds in epoch_times(
                    setting, args.epochs, args.data_dir, out_dir
                ).items():
                    clocks[clock].extend(seconds)
    for clock in ("wall", "cpu"):
        medians = {setting: statistics.median(times[setting][clock]) for setting in times}
        for setting, seconds in times.items():
            listed = ", ".join(f"{s:.2f}" for s in seconds[clock])
            print(
                f"{clock:4s} callbacks={setting:8s} median epoch {medians[setting]:.3f} s "
                f"({listed})"
            )
        overhead = 100 * (medians["inspect"] / medians["default"] - 1)
        print(f"{clock:4s} overhead of callbacks=inspect: {overhead:+.1f}% per epoch")


if __name__ == "__main__":
    main()
