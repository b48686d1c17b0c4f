"""Epoch time against the amount of data: a dlbasics training epoch on 10k, 60k and 240k
Fashion-MNIST samples, and its time per sample relative to the 60k epoch (1.00: the cost is
proportional to the data).

The samples come from the 60,000 training images (``--pool``; no validation split is held
out, ``data.val_size=0``): a size up to the pool is a subset of that many images
(``data.train_subset``), a larger one passes over the pool several times per epoch
(``data.train_repeats``, a fresh permutation each pass), so 240k is 4 passes over 60k.

Each epoch is the workload's task (``--workload`` of ``epoch_time.py``, default softmax
regression: the cheapest step, so fixed per-epoch costs show most) fitted by a Trainer with
the callbacks and logger of ``callbacks=default logger=tensorboard`` as ``dlbasics-train``
builds them, training epochs only (no per-epoch validation), timed from one epoch's start
to the next one's. The sizes take turns ``--repeats`` times in this process, ``--epochs``
epochs per run with the first dropped; each size reports its median epoch. Run:
``python benchmarks/data_scaling.py --data-dir $DLBASICS_DATA_DIR``.
"""

import argparse
import os
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from dlbasics.data import FashionMNISTDataModule
from dlbasics.utils.measurements import write_measurements

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: its sibling module
from epoch_time import BATCH_SIZE, WORKLOADS, EpochTimes, default_callbacks_epochs

POOL = 60_000  # the Fashion-MNIST training file
TOLERANCE = 0.10  # the target: per-sample time within 10 % of the reference size's


def samples_of(size: int, pool: int, data_dir: str) -> Callable[[], FashionMNISTDataModule]:
    """A maker of DataModules with ``size`` samples per epoch: a subset of the pool, or
    whole passes over it."""
    if size <= pool:
        subset, repeats = (None if size == POOL else size), 1
    elif size % pool == 0:
        subset, repeats = (None if pool == POOL else pool), size // pool
    else:
        raise SystemExit(f"--sizes: {size} is above --pool {pool} but no multiple of it")
    return partial(
        FashionMNISTDataModule,
        data_dir=data_dir,
        val_size=0,  # every training image counts; no validation runs
        batch_size=BATCH_SIZE,
        train_subset=subset,
        train_repeats=repeats,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("DLBASICS_DATA_DIR", "data"))
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="softmax")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 60_000, 240_000])
    parser.add_argument("--reference", type=int, default=60_000, help="one of --sizes")
    parser.add_argument(
        "--pool", type=int, default=POOL, help="images drawn; larger sizes repeat them"
    )
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is dropped")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size, taking turns")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    if args.epochs < 2 or args.repeats < 1 or args.reference not in args.sizes:
        parser.error("needs --epochs >= 2, --repeats >= 1 and --reference among --sizes")
    if not 0 < args.pool <= POOL:
        parser.error(f"--pool must be in 1..{POOL}")
    if args.threads:
        torch.set_num_threads(args.threads)
    work = WORKLOADS[args.workload]
    datamodules = {size: samples_of(size, args.pool, args.data_dir) for size in args.sizes}
    times: dict[int, EpochTimes] = defaultdict(list)
    for _ in range(args.repeats):
        for size, new_datamodule in datamodules.items():
            times[size].extend(default_callbacks_epochs(work, new_datamodule, args.epochs))
    seconds = {size: statistics.median(values) for size, values in times.items()}
    per_sample = {size: seconds[size] / size for size in args.sizes}
    relative = {size: per_sample[size] / per_sample[args.reference] for size in args.sizes}

    print(
        f"\n{args.workload}, callbacks=default logger=tensorboard: torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, batch {BATCH_SIZE}, median of {args.repeats} x "
        f"{args.epochs - 1} epochs per size"
    )
    print(f"{'samples/epoch':>14}{'s/epoch':>10}{'us/sample':>11}{'vs ' + str(args.reference):>10}")
    for size in args.sizes:
        print(
            f"{size:>14,}{seconds[size]:>10.3f}{1e6 * per_sample[size]:>11.2f}"
            f"{relative[size]:>9.2f}x"
        )
    worst = max(abs(value - 1) for value in relative.values())
    print(f"largest deviation from proportional: {100 * worst:.1f} % (target <= {TOLERANCE:.0%})")
    if args.record:
        values: dict[str, float] = {}
        for size in args.sizes:
            values[f"{size} s/epoch"] = seconds[size]
            values[f"{size} us/sample"] = 1e6 * per_sample[size]
            values[f"{size} per-sample vs {args.reference}"] = relative[size]
        values["largest deviation %"] = 100 * worst
        values["threads"] = torch.get_num_threads()
        method = (
            f"seconds per training epoch, median of {args.repeats} runs x {args.epochs - 1} "
            f"epochs per size (first epoch of each run dropped), sizes taking turns in one process"
        )
        write_measurements(args.record, values, method)


if __name__ == "__main__":
    main()
