"""Training steps per second of the sequence classifiers, in one process.

Three workloads: the LSTM classifier (embedding 32, hidden 32) on digit_sum (300
sequences of 10 digits, batch 8 as the book) and on the generated negation reviews (2,000
reviews, batch 32), and the two-block Transformer of ``attention/kv_retrieval_transformer``
(width 64, 4 heads, feed-forward 128, pre-norm) on key-value retrieval (4,000 samples of
10 tokens, batch 64). For each, a plain PyTorch loop runs ``--epochs`` epochs over the
DataModule's own batches, for the LSTM once per implementation of the recurrence
(``cells``: the written-out equations, a Python loop over time; ``torch``: the fused
``nn.LSTM`` on a packed batch); dlbasics (ClassificationTask + Trainer, no logger,
checkpoint or bar) runs the ``torch`` way on the same DataModule. The first epoch of each
way is dropped as warm-up; the ways take turns in this process. Run:
``python benchmarks/sequence_steps.py``.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import nn

from dlbasics.data.digit_sum import DigitSumDataModule
from dlbasics.data.kv_retrieval import KeyValueRetrievalDataModule
from dlbasics.data.negation import NegationReviewsDataModule
from dlbasics.nets import SequenceClassifier, TransformerClassifier
from dlbasics.tasks import ClassificationTask
from dlbasics.utils.measurements import report_measurements

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: its sibling module
from epoch_time import timed_fit

LR = 0.001


NetFactory = Callable[[pl.LightningDataModule, str], nn.Module]


def lstm_net(datamodule: pl.LightningDataModule, impl: str) -> nn.Module:
    torch.manual_seed(0)
    return SequenceClassifier(
        datamodule.vocab_size, datamodule.num_classes, 32, 32, "lstm", impl=impl
    )


def transformer_net(datamodule: pl.LightningDataModule, impl: str) -> nn.Module:
    torch.manual_seed(0)  # impl: the Transformer has one implementation
    return TransformerClassifier(
        datamodule.vocab_size,
        datamodule.num_classes,
        64,
        4,
        2,
        128,
        0.0,
        64,
        pooling="last",
        padding_idx=0,
        norm_first=True,
    )


def workloads() -> dict[str, tuple[pl.LightningDataModule, NetFactory, tuple[str, ...]]]:
    """Name → DataModule (set up), its net and the implementations the plain loop runs."""
    sets = {
        "digit_sum": (DigitSumDataModule(batch_size=8), lstm_net, ("cells", "torch")),
        "negation": (NegationReviewsDataModule(batch_size=32), lstm_net, ("cells", "torch")),
        "kv_retrieval": (
            KeyValueRetrievalDataModule(num_train=4000, tokenizer="whitespace", batch_size=64),
            transformer_net,
            ("torch",),
        ),
    }
    for datamodule, _, _ in sets.values():
        datamodule.setup("fit")
    return sets


def plain_steps_per_second(
    datamodule: pl.LightningDataModule, make_net: NetFactory, impl: str, epochs: int
) -> float:
    net = make_net(datamodule, impl)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    rates = []
    for _ in range(epochs):
        start, steps = time.perf_counter(), 0
        for x, y in datamodule.train_dataloader():
            optimizer.zero_grad()
            loss_fn(net(x), y).backward()
            optimizer.step()
            steps += 1
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates[1:])


def dlbasics_steps_per_second(
    datamodule: pl.LightningDataModule, make_net: NetFactory, epochs: int
) -> float:
    task = ClassificationTask(
        num_classes=datamodule.num_classes,
        net=make_net(datamodule, "torch"),
        optimizer=lambda params: torch.optim.Adam(params, lr=LR),
    )
    steps = len(datamodule.train_dataloader())  # per epoch: every batch, no limit
    return statistics.median([steps / seconds for seconds in timed_fit(task, datamodule, epochs)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="per way; the first is dropped")
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is dropped as warm-up)")
    values: dict[str, float] = {}
    for name, (datamodule, make_net, impls) in workloads().items():
        ways: dict[str, Callable[[], float]] = {
            f"plain {impl}": lambda d=datamodule, m=make_net, i=impl: plain_steps_per_second(
                d, m, i, args.epochs
            )
            for impl in impls
        }
        ways["dlbasics torch"] = lambda d=datamodule, m=make_net: dlbasics_steps_per_second(
            d, m, args.epochs
        )
        for way, measure in ways.items():
            values[f"{name} {way} steps/s"] = measure()
        plain = values[f"{name} plain torch steps/s"]
        if "cells" in impls:
            values[f"{name} cells vs torch"] = values[f"{name} plain cells steps/s"] / plain
        values[f"{name} dlbasics vs plain"] = values[f"{name} dlbasics torch steps/s"] / plain
    method = (
        f"training steps per second, median of {args.epochs - 1} epochs per way (first "
        f"dropped), ways in turn in one process; ratios are of steps per second"
    )
    report_measurements(values, args.record, method)


if __name__ == "__main__":
    main()
