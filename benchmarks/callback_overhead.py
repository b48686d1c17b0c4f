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

On a shared machine single epochs drift by ±15 %, so the defaults collect
25 epochs per setting and a bootstrap interval says how far that noise
alone could move the overhead. ``--breakdown`` adds a load-independent
reading: the CPU time spent inside each dlbasics callback's hooks per epoch
(the timing wrappers cost a little themselves, so use the plain run for the
overhead number).
"""

import argparse
import functools
import logging
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

import dlbasics.utils.resolvers  # noqa: F401  (registers the resolvers the configs use)
from dlbasics.utils.cli import CONFIG_DIR
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer


class HookClock:
    """CPU seconds spent inside the ``on_*`` hooks of the callbacks it wraps, per class."""

    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)

    def wrap(self, callback: pl.Callback) -> None:
        name = type(callback).__name__
        for hook in dir(type(callback)):
            if hook.startswith("on_") and callable(getattr(callback, hook)):
                setattr(callback, hook, self._timed(name, getattr(callback, hook)))

    def _timed(self, name: str, hook: Callable[..., object]) -> Callable[..., object]:
        @functools.wraps(hook)
        def timed(*args: object, **kwargs: object) -> object:
            start = time.process_time()
            try:
                return hook(*args, **kwargs)
            finally:
                self.total[name] += time.process_time() - start

        return timed


class EpochTimer(pl.Callback):
    """Wall and CPU time of each epoch, validation included (it runs before
    ``on_train_epoch_end``), and the hook clock's CPU time per callback in it."""

    def __init__(self, clock: HookClock | None = None) -> None:
        self.seconds: dict[str, list[float]] = {"wall": [], "cpu": []}
        self.hooks: list[dict[str, float]] = []
        self.clock = clock
        self._start = (0.0, 0.0)
        self._hooks_start: dict[str, float] = {}

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = (time.perf_counter(), time.process_time())
        self._hooks_start = dict(self.clock.total) if self.clock else {}

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds["wall"].append(time.perf_counter() - self._start[0])
        self.seconds["cpu"].append(time.process_time() - self._start[1])
        if self.clock:
            self.hooks.append(
                {k: v - self._hooks_start.get(k, 0.0) for k, v in self.clock.total.items()}
            )


def epoch_times(
    callbacks: str, epochs: int, data_dir: str, out_dir: str, breakdown: bool = False
) -> tuple[dict[str, list[float]], list[dict[str, float]]]:
    """Per-epoch wall and CPU seconds (first epoch dropped) and, with ``breakdown``, the CPU
    seconds inside each dlbasics callback's hooks per epoch."""
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
    clock = HookClock() if breakdown else None
    for callback in trainer.callbacks if clock else []:
        if type(callback).__module__.startswith("dlbasics."):
            clock.wrap(callback)
    timer = EpochTimer(clock)
    trainer.callbacks.append(timer)
    trainer.fit(model, datamodule=datamodule)
    return {clock: seconds[1:] for clock, seconds in timer.seconds.items()}, timer.hooks[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6, help="per run; the first is dropped")
    parser.add_argument("--repeats", type=int, default=5, help="runs per setting, alternated")
    parser.add_argument("--data-dir", default=os.environ.get("DLBASICS_DATA_DIR", "data"))
    parser.add_argument(
        "--breakdown", action="store_true", help="also time each callback's hooks (CPU)"
    )
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    times = {setting: {"wall": [], "cpu": []} for setting in ("default", "inspect")}
    hooks: dict[str, list[dict[str, float]]] = {setting: [] for setting in times}
    with tempfile.TemporaryDirectory(prefix="callback_overhead_") as out_dir:
        for _ in range(args.repeats):
            for setting, clocks in times.items():
                seconds, per_hook = epoch_times(
                    setting, args.epochs, args.data_dir, out_dir, args.breakdown
                )
                for clock, values in seconds.items():
                    clocks[clock].extend(values)
                hooks[setting].extend(per_hook)
    for clock in ("wall", "cpu"):
        medians = {setting: statistics.median(times[setting][clock]) for setting in times}
        for setting, seconds in times.items():
            listed = ", ".join(f"{s:.2f}" for s in seconds[clock])
            print(
                f"{clock:4s} callbacks={setting:8s} median epoch {medians[setting]:.3f} s "
                f"({listed})"
            )
        overhead = 100 * (medians["inspect"] / medians["default"] - 1)
        low, high = bootstrap_interval(times["default"][clock], times["inspect"][clock])
        print(
            f"{clock:4s} overhead of callbacks=inspect: {overhead:+.1f}% per epoch "
            f"(90% bootstrap interval {low:+.1f}% .. {high:+.1f}%)"
        )
    if args.breakdown:
        print_breakdown(hooks["inspect"], statistics.median(times["default"]["cpu"]))


def bootstrap_interval(
    default: list[float], inspect: list[float], draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """5th and 95th percentile, in %, of the overhead of medians of epochs resampled with
    replacement: how far the load noise alone could move the reported number."""
    rng = random.Random(seed)
    overheads = sorted(
        100
        * (
            statistics.median(rng.choices(inspect, k=len(inspect)))
            / statistics.median(rng.choices(default, k=len(default)))
            - 1
        )
        for _ in range(draws)
    )
    return overheads[draws // 20], overheads[draws - 1 - draws // 20]


def print_breakdown(epochs: list[dict[str, float]], default_cpu: float) -> None:
    """Median CPU ms per epoch inside each callback's hooks, and in % of a default epoch."""
    print("cpu  inside each dlbasics callback's hooks (callbacks=inspect), median per epoch:")
    for name in sorted({name for epoch in epochs for name in epoch}):
        seconds = statistics.median(epoch.get(name, 0.0) for epoch in epochs)
        print(f"cpu    {name:20s} {1000 * seconds:7.1f} ms  {100 * seconds / default_cpu:5.2f}%")


if __name__ == "__main__":
    main()
