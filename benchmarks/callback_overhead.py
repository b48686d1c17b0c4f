"""Epoch time with the inspection callbacks at their default frequency vs. without them.

    DLBASICS_DATA_DIR=/work/shared/data python benchmarks/callback_overhead.py

Trains ``experiment=fmnist/mlp`` on the CPU (215 steps + validation per epoch,
one torch thread) in one process with one Trainer whose epochs take turns:
odd epochs run the ``callbacks=default`` set, even ones add the callbacks
that ``callbacks=inspect`` puts on top of it (gradient norms, activation
stats, histograms, prediction images, NaN guard, model summary), switched in
at the epoch start and out again at the next. Epoch 0 runs with all of them
(warm-up) and is dropped.

Why one process and alternating epochs: on this shared machine single epochs
drift by ±15 % over tens of seconds, and separate runs per setting (measured
that way before) gave anything from +5 % to +16 % for the same code. Each
"on" epoch is compared with the "off" epoch right before it, so slow drifts
cancel; the report gives the median of those pairs and a bootstrap interval
over them. ``--breakdown`` adds the CPU time spent inside each inspection
callback's hooks per "on" epoch (the timing wrappers cost a little
themselves, so use the plain run for the overhead number).
"""

import argparse
import functools
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

import dlbasics.utils.resolvers  # noqa: F401  (registers the resolvers the configs use)
from dlbasics.utils.cli import CONFIG_DIR
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer
from dlbasics.utils.measurements import write_measurements

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: its sibling module
from turns import bootstrap_interval

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


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


class AlternateEpochs(pl.Callback):
    """Switches ``extra`` callbacks in on even epochs and out on odd ones, and times each
    epoch from its start to the next one's, so validation and every callback's and the
    task's epoch-end work are included.

    Switching calls the callbacks' own ``on_fit_start``/``on_fit_end``, so one that
    attaches module hooks for the fit (the NaN guard) attaches and removes them with it.
    Put it first in the trainer's list. The list is swapped while Lightning walks the
    old one, so the callbacks after it still get this one ``on_train_epoch_start`` from the
    old list (none of the inspection callbacks implements it).
    """

    def __init__(self, extra: list[pl.Callback], clock: HookClock | None = None) -> None:
        self.extra = extra
        self.clock = clock
        self.seconds: dict[bool, dict[str, list[float]]] = {
            on: {name: [] for name in CLOCKS} for on in (True, False)
        }
        self.hooks: list[dict[str, float]] = []
        self._on = True
        self._epoch = -1
        self._start: dict[str, float] = {}
        self._hooks_start: dict[str, float] = {}

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.callbacks = [*trainer.callbacks, *self.extra]
        for callback in self.extra:
            callback.on_fit_start(trainer, pl_module)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._finish_epoch()
        self._epoch = trainer.current_epoch
        on = self._epoch % 2 == 0
        if on != self._on:
            self._switch(trainer, pl_module, on)
        self._hooks_start = dict(self.clock.total) if self.clock else {}
        self._start = {name: clock() for name, clock in CLOCKS.items()}

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._finish_epoch()

    def _finish_epoch(self) -> None:
        """Record the epoch that is ending, unless it is the warm-up epoch 0."""
        if self._epoch < 1:
            return
        for name, clock in CLOCKS.items():
            self.seconds[self._on][name].append(clock() - self._start[name])
        if self._on and self.clock:
            self.hooks.append(
                {k: v - self._hooks_start.get(k, 0.0) for k, v in self.clock.total.items()}
            )

    def _switch(self, trainer: pl.Trainer, pl_module: pl.LightningModule, on: bool) -> None:
        others = [c for c in trainer.callbacks if not any(c is e for e in self.extra)]
        trainer.callbacks = others + (self.extra if on else [])
        for callback in self.extra:
            if on:
                callback.on_fit_start(trainer, pl_module)
            else:
                callback.on_fit_end(trainer, pl_module)
        self._on = on


def compose_train(callbacks: str, epochs: int, data_dir: str) -> DictConfig:
    overrides = [
        "experiment=fmnist/mlp",
        "trainer=cpu",
        f"trainer.max_epochs={epochs}",
        f"callbacks={callbacks}",
        f"paths.data_dir={data_dir}",
        "test=false",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def alternating_run(epochs: int, data_dir: str, out_dir: str, breakdown: bool) -> AlternateEpochs:
    cfg = compose_train("inspect", epochs, data_dir)
    default_names = set(compose_train("default", epochs, data_dir).callbacks)
    extra_names = [name for name in cfg.callbacks if name not in default_names]
    with open_dict(cfg):
        cfg.paths.output_dir = out_dir
        extra = [instantiate(cfg.callbacks.pop(name)) for name in extra_names]
    clock = HookClock() if breakdown else None
    for callback in extra if clock else []:
        clock.wrap(callback)
    pl.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg)
    trainer = build_trainer(cfg, enable_model_summary=False)
    alternate = AlternateEpochs(extra, clock)
    trainer.callbacks.insert(0, alternate)
    print(f"switched each epoch: {', '.join(extra_names)}")
    trainer.fit(model, datamodule=datamodule)
    return alternate


def report(run: AlternateEpochs) -> dict[str, float]:
    """Print the overhead per clock; return the numbers a record keeps."""
    values: dict[str, float] = {}
    for name in CLOCKS:
        on, off = run.seconds[True][name], run.seconds[False][name]
        # off epoch 2k+1 is paired with on epoch 2k+2, the one right after it
        pairs = [100 * (b / a - 1) for a, b in zip(off, on, strict=False)]
        low, high = bootstrap_interval(pairs)
        print(
            f"{name:4s} median epoch: default {statistics.median(off):.3f} s, "
            f"+inspect {statistics.median(on):.3f} s ({len(pairs)} pairs)"
        )
        print(
            f"{name:4s} overhead of callbacks=inspect: {statistics.median(pairs):+.1f}% per epoch "
            f"(median of pairs; 90% bootstrap interval {low:+.1f}% .. {high:+.1f}%)"
        )
        print(f"{name:4s} pairs in epoch order: {' '.join(f'{p:+.0f}' for p in pairs)}")
        values.update(
            {
                f"{name} overhead %": statistics.median(pairs),
                f"{name} overhead low %": low,
                f"{name} overhead high %": high,
                f"{name} default epoch s": statistics.median(off),
                f"{name} pairs": len(pairs),
            }
        )
    if run.hooks:
        values.update(print_breakdown(run.hooks, statistics.median(run.seconds[False]["cpu"])))
    return values


def print_breakdown(epochs: list[dict[str, float]], default_cpu: float) -> dict[str, float]:
    """Median CPU ms per epoch inside each callback's hooks, and in % of a default epoch."""
    print("cpu  inside each inspection callback's hooks, median per epoch:")
    values = {}
    for name in sorted({name for epoch in epochs for name in epoch}):
        seconds = statistics.median(epoch.get(name, 0.0) for epoch in epochs)
        print(f"cpu    {name:20s} {1000 * seconds:7.1f} ms  {100 * seconds / default_cpu:5.2f}%")
        values[f"{name} ms"] = 1000 * seconds
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs", type=int, default=20, help="off/on epoch pairs (plus one warm-up epoch)"
    )
    parser.add_argument("--data-dir", default=os.environ.get("DLBASICS_DATA_DIR", "data"))
    parser.add_argument(
        "--breakdown", action="store_true", help="also time each callback's hooks (CPU)"
    )
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="callback_overhead_") as out_dir:
        run = alternating_run(1 + 2 * args.pairs, args.data_dir, out_dir, args.breakdown)
    values = report(run)
    if args.record:
        method = (
            "overhead of callbacks=inspect over callbacks=default per epoch, in one process "
            "whose epochs alternate between the two; median of adjacent pairs, 90 % bootstrap "
            "interval"
        )
        write_measurements(args.record, values, method)


if __name__ == "__main__":
    main()
