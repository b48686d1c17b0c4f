"""Time one Fashion-MNIST softmax-regression training epoch (batch 256) three ways.

1. plain:      a hand-written PyTorch loop over normalised in-memory tensors (and the
                same loop over uint8 tensors normalised per batch, dlbasics' data layout)
2. dlbasics:   FashionMNISTDataModule + ClassificationTask + Lightning Trainer
3. per-sample: torchvision's FashionMNIST with ToTensor/Normalize through a DataLoader

Each way runs ``--epochs`` epochs in this process; the reported time is the median
epoch (the first epoch pays for warm-up). Run: ``make bench`` or
``python benchmarks/epoch_time.py --data-dir ../shared/data``.
"""

import argparse
import os
import statistics
import time
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from dlbasics.data import FashionMNISTDataModule
from dlbasics.nets import SoftmaxRegression
from dlbasics.tasks import ClassificationTask

BATCH_SIZE = 256
LR = 0.1


def sgd_epoch(net: nn.Module, optimizer: torch.optim.Optimizer, batches) -> None:
    loss_fn = nn.CrossEntropyLoss()
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(net(x), y).backward()
        optimizer.step()


def timed_epochs(run_epoch: Callable[[], None], epochs: int) -> float:
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plain_loop(datamodule: FashionMNISTDataModule, epochs: int, normalise_once: bool) -> float:
    """``normalise_once``: float inputs prepared up front (4x the memory of uint8);
    otherwise each uint8 batch is normalised when it is drawn, as dlbasics does."""
    train = datamodule.train_set
    inputs = train.transform(train.inputs) if normalise_once else train.inputs
    per_batch = (lambda x: x) if normalise_once else train.transform
    targets = train.targets
    net = SoftmaxRegression(784, 10)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)

    def epoch() -> None:
        order = torch.randperm(len(inputs))
        batches = ((per_batch(inputs[idx]), targets[idx]) for idx in torch.split(order, BATCH_SIZE))
        sgd_epoch(net, optimizer, batches)

    return timed_epochs(epoch, epochs)


class EpochTimer(pl.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.times.append(time.perf_counter() - self.start)


def lightning_pipeline(data_dir: str, epochs: int, progress_bar: bool) -> float:
    datamodule = FashionMNISTDataModule(data_dir=data_dir, batch_size=BATCH_SIZE)
    task = ClassificationTask(
        num_classes=10,
        net=SoftmaxRegression(784, 10),
        optimizer=lambda params: torch.optim.SGD(params, lr=LR),
    )
    timer = EpochTimer()
    callbacks: list[pl.Callback] = [timer]
    if progress_bar:
        callbacks.append(pl.callbacks.RichProgressBar())
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=epochs,
        limit_val_batches=0,  # training epochs only, as in the other two loops
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        callbacks=callbacks,
    )
    trainer.fit(task, datamodule=datamodule)
    return statistics.median(timer.times)


def per_sample_loader(data_dir: str, epochs: int) -> float:
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))]
    )
    dataset = datasets.FashionMNIST(data_dir, train=True, transform=transform, download=False)
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
    net = SoftmaxRegression(784, 10)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    return timed_epochs(lambda: sgd_epoch(net, optimizer, loader), epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("DLBASICS_DATA_DIR", "data"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch intra-op threads (0: torch's default); 1 is steadier on a busy machine",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    datamodule = FashionMNISTDataModule(data_dir=args.data_dir, batch_size=BATCH_SIZE)
    datamodule.prepare_data()
    datamodule.setup("fit")
    plain = plain_loop(datamodule, args.epochs, normalise_once=True)
    plain_uint8 = plain_loop(datamodule, args.epochs, normalise_once=False)
    quiet = lightning_pipeline(args.data_dir, args.epochs, progress_bar=False)
    with_bar = lightning_pipeline(args.data_dir, args.epochs, progress_bar=True)
    per_sample = per_sample_loader(args.data_dir, args.epochs)

    print(
        f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{len(datamodule.train_set)} training images, batch {BATCH_SIZE}, "
        f"median of {args.epochs} epochs"
    )
    print(f"{'way':<36}{'s/epoch':>10}{'vs plain':>10}")
    rows = [
        ("plain PyTorch loop", plain),
        ("plain loop, uint8 normalised/batch", plain_uint8),
        ("dlbasics (no progress bar)", quiet),
        ("dlbasics (rich progress bar)", with_bar),
        ("torchvision per-sample ToTensor", per_sample),
    ]
    for name, seconds in rows:
        print(f"{name:<36}{seconds:>10.3f}{seconds / plain:>9.2f}x")
    print(f"dlbasics (no bar) / plain uint8 loop: {quiet / plain_uint8:.2f}x")
    print(f"per-sample / dlbasics (no bar): {per_sample / quiet:.1f}x")


if __name__ == "__main__":
    main()
