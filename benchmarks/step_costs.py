"""Where a training step's time goes: dlbasics' task against a bare LightningModule, and the
parts the task adds (metric updates, input checks, the epoch-loss accumulator), in µs per
call on one softmax-regression batch (Fashion-MNIST shape: 256 × 784, 10 classes).

No Trainer and no data loading: each part is called in a loop on the same tensors, the
parts take turns ``--repeats`` times in this process and each reports its median turn.
The epoch benchmark (``epoch_time.py``) says what a user waits for; this one says which
piece of the task to make cheaper, and by how much a change did. Run:
``python benchmarks/step_costs.py``.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torchmetrics.classification import MulticlassAccuracy

from dlbasics.metrics.accuracy import CountedAccuracy
from dlbasics.metrics.checks import check_multiclass_inputs
from dlbasics.utils.measurements import report_measurements

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: its sibling module
import epoch_time

BATCH, FEATURES, CLASSES = 256, 784, 10


def parts() -> dict[str, Callable[[], object]]:
    torch.manual_seed(0)
    work = epoch_time.WORKLOADS["softmax"]
    task, bare = epoch_time.dlbasics_task(work), epoch_time.BareModule(work)
    x, y = torch.randn(BATCH, FEATURES), torch.randint(0, CLASSES, (BATCH,))
    scores = task(x).detach()
    micro = MulticlassAccuracy(CLASSES, average="micro")
    counted = CountedAccuracy()
    return {
        "bare module step+backward": lambda: bare.training_step((x, y), 0).backward(),
        "dlbasics task step+backward": lambda: task.training_step((x, y), 0).backward(),
        "task train metrics update": lambda: task.train_metrics.update(scores, y),
        "input check": lambda: check_multiclass_inputs(scores, y, CLASSES),
        "epoch loss update": lambda: task.train_loss.update(scores.sum(), weight=BATCH),
        "torchmetrics micro accuracy update": lambda: micro.update(scores, y),
        "counted accuracy update": lambda: counted.update(scores, y),
    }


def us_per_call(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="turns of every part")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per turn")
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    if args.repeats < 1 or args.calls < 1:
        parser.error("--repeats and --calls must be at least 1")
    timed = parts()
    for call in timed.values():  # warm-up
        us_per_call(call, 50)
    turns: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.repeats):
        for name, call in timed.items():
            turns[name].append(us_per_call(call, args.calls))
    values = {f"{name} us": statistics.median(t) for name, t in turns.items()}
    values["task step vs bare"] = (
        values["dlbasics task step+backward us"] / values["bare module step+backward us"]
    )
    values["threads"] = torch.get_num_threads()
    method = (
        f"µs per call, median of {args.repeats} turns of {args.calls} calls, parts in turn "
        f"in one process on one {BATCH} × {FEATURES} batch, {CLASSES} classes"
    )
    report_measurements(values, args.record, method, width=44)


if __name__ == "__main__":
    main()
