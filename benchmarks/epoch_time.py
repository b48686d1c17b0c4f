"""Time one Fashion-MNIST training epoch (batch 256) three ways, for softmax regression
(``--workload softmax``, SGD lr 0.1), the MLP of ``experiment=fmnist/mlp`` (``--workload
mlp``: 784-256-10 ReLU, SGD lr 0.1) or d2l's sigmoid LeNet-5 (``--workload lenet``, lr 0.9).

1. plain:      a hand-written PyTorch loop over normalised in-memory tensors (and the
                same loop over uint8 tensors normalised per batch, dlbasics' data layout)
2. dlbasics:   FashionMNISTDataModule + ClassificationTask + Lightning Trainer, without
                callbacks or logger, with the rich progress bar of ``callbacks=default``, and
                with everything ``callbacks=default logger=tensorboard`` configure (the
                workload's experiment composed by Hydra; its checkpoints, events and
                figures go to a temporary folder)
3. per-sample: torchvision's FashionMNIST with ToTensor/Normalize through a DataLoader

Two more rows split the gap between 1 and 2: the plain loop drawing its batches from
dlbasics' DataLoader (the data path alone), and a bare LightningModule (loss only, no
metrics) on the same DataModule and Trainer settings (Lightning's own per-step cost,
the floor for any task run by Lightning's automatic optimisation).

Every row times training epochs only: no per-epoch validation in any of them (the
Lightning rows run with ``limit_val_batches=0``; without ``val/acc`` to rank by, the
best-checkpoint callback of ``callbacks=default`` warns once and saves nothing). An epoch
runs from its start to the next one's, so work at its end (epoch metrics, logger writes)
counts in it. ``benchmarks/template_job.py`` times a whole CLI epoch: validation, the
checkpoint save and everything else a run does.

Each way runs ``--epochs`` epochs in this process, ``--repeats`` times taking turns
with the others so that load from other processes hits all of them alike; the
reported time is the median epoch (the first epoch of each run pays for warm-up and
is dropped). The slow per-sample path runs once (softmax only). For LeNet two more
plain loops measure ``channels_last`` memory format and ``torch.compile``, and the task
runs once more with ``model.channels_last=true``. Run:
``make bench`` or ``python benchmarks/epoch_time.py --data-dir $DLBASICS_DATA_DIR``.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

import dlbasics.utils.resolvers  # noqa: F401  (registers the resolvers the configs use)
from dlbasics.data import FashionMNISTDataModule
from dlbasics.nets import MLP, LeNet5, SoftmaxRegression
from dlbasics.tasks import ClassificationTask, Task
from dlbasics.utils.cli import CONFIG_DIR
from dlbasics.utils.instantiate import build_trainer
from dlbasics.utils.lean_trainer import NVML_CHECK, cheap_cuda_probe, no_profiler
from dlbasics.utils.measurements import write_measurements

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: its sibling module
from turns import paired_lines, paired_ratio, paired_values

BATCH_SIZE = 256
DEFAULT_ROW = "dlbasics (default callbacks + TensorBoard)"
QUIET_ROW = "dlbasics (no progress bar)"
CHANNELS_LAST_ROW = "dlbasics (no progress bar), model.channels_last"  # LeNet only
# the ratios the targets are about, each also taken turn by turn: (numerator, denominator,
# the denominator's short name in the record)
PAIRED = [
    (QUIET_ROW, "bare LightningModule", "bare"),
    (DEFAULT_ROW, "bare LightningModule", "bare"),
    (DEFAULT_ROW, QUIET_ROW, "no callbacks"),
    (CHANNELS_LAST_ROW, QUIET_ROW, "default layout"),
]
EpochTimes = list[float]


@dataclass(frozen=True)
class Workload:
    new_net: Callable[[], nn.Module]
    lr: float
    experiment: str  # the dlbasics-train experiment with this net and optimiser
    optimizer_cls: type[torch.optim.Optimizer] = torch.optim.SGD

    def new_optimizer(self, params: Iterable[Tensor]) -> torch.optim.Optimizer:
        return self.optimizer_cls(params, lr=self.lr)

    def net_and_optimizer(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        net = self.new_net()
        return net, self.new_optimizer(net.parameters())


WORKLOADS = {
    "softmax": Workload(lambda: SoftmaxRegression(784, 10), lr=0.1, experiment="fmnist/softmax"),
    "mlp": Workload(
        lambda: MLP(784, 10, hidden_sizes=[256], activation="relu"),
        lr=0.1,
        experiment="fmnist/mlp",
    ),
    "lenet": Workload(
        lambda: LeNet5([1, 28, 28], 10, variant="d2l"), lr=0.9, experiment="d2l/lenet_fmnist"
    ),
}


@contextmanager
def cuda_probe_of(kind: str) -> Iterator[None]:
    """Run a way with the CUDA probe its own process would have: importing Lightning sets
    ``PYTORCH_NVML_BASED_CUDA_CHECK=1`` (``kind="lightning"``: a bare LightningModule), a
    plain PyTorch script never sets it (``"plain"``), and dlbasics' Trainer puts it back
    where no GPU is visible (``"dlbasics"``, ``utils.lean_trainer``). With no GPU it makes
    each Adam step ~60 µs slower; SGD never asks."""
    before = os.environ.get(NVML_CHECK)
    if kind == "plain":
        os.environ.pop(NVML_CHECK, None)
    elif kind == "lightning":
        os.environ[NVML_CHECK] = "1"
    elif kind == "dlbasics":
        cheap_cuda_probe()
    else:
        raise ValueError(f"kind must be plain, lightning or dlbasics, got {kind!r}")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(NVML_CHECK, None)
        else:
            os.environ[NVML_CHECK] = before


def train_epoch(net: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable) -> None:
    loss_fn = nn.CrossEntropyLoss()
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(net(x), y).backward()
        optimizer.step()


def timed_epochs(run_epoch: Callable[[], None], epochs: int) -> EpochTimes:
    """Seconds of each of ``epochs`` epochs of a plain loop after the first (warm-up),
    run with plain PyTorch's CUDA probe."""
    times = []
    with cuda_probe_of("plain"):
        for _ in range(epochs):
            start = time.perf_counter()
            run_epoch()
            times.append(time.perf_counter() - start)
    return times[1:]


def plain_loop(
    workload: Workload,
    datamodule: FashionMNISTDataModule,
    epochs: int,
    normalise_once: bool,
    channels_last: bool = False,
    compiled: bool = False,
) -> EpochTimes:
    """``normalise_once``: float inputs prepared up front (4x the memory of uint8);
    otherwise each uint8 batch is normalised when it is drawn, as dlbasics does.
    ``channels_last``: net and images in NHWC memory layout; ``compiled``: the net
    through ``torch.compile`` (its compilation falls in the dropped first epoch)."""
    train = datamodule.train_set
    inputs = train.transform(train.inputs) if normalise_once else train.inputs
    per_batch = (lambda x: x) if normalise_once else train.transform
    targets = train.targets
    net, optimizer = workload.net_and_optimizer()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    if compiled:
        net = torch.compile(net)

    def epoch() -> None:
        order = torch.randperm(len(inputs))
        batches = ((per_batch(inputs[idx]), targets[idx]) for idx in torch.split(order, BATCH_SIZE))
        train_epoch(net, optimizer, batches)

    return timed_epochs(epoch, epochs)


def plain_loop_on_dataloader(
    workload: Workload, datamodule: FashionMNISTDataModule, epochs: int
) -> EpochTimes:
    net, optimizer = workload.net_and_optimizer()
    loader = datamodule.train_dataloader()
    return timed_epochs(lambda: train_epoch(net, optimizer, loader), epochs)


class EpochTimer(pl.Callback):
    """Seconds from each training epoch's start to the next one's (the last one's: to the
    end of training), so that all the work at an epoch's end counts in it: the task's epoch
    metrics, checkpoint saves and logger writes (Lightning calls those after the callbacks'
    ``on_train_epoch_end``)."""

    def __init__(self) -> None:
        self.times: EpochTimes = []
        self.start: float | None = None

    def _lap(self) -> None:
        now = time.perf_counter()
        if self.start is not None:
            self.times.append(now - self.start)
        self.start = now

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._lap()

    def on_train_end(self, trainer, pl_module) -> None:
        self._lap()


class BareModule(pl.LightningModule):
    """The least a LightningModule can do: forward, loss, nothing logged or measured."""

    def __init__(self, workload: Workload) -> None:
        super().__init__()
        self.net = workload.new_net()
        self.new_optimizer = workload.new_optimizer
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        return self.loss_fn(self.net(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.new_optimizer(self.parameters())


def dlbasics_task(workload: Workload, **options: Any) -> ClassificationTask:
    """The task as the workload's experiment builds it; ``options``: its ``model.*`` knobs."""
    return ClassificationTask(
        num_classes=10,
        net=workload.new_net(),
        optimizer=workload.new_optimizer,
        **options,
    )


def loop_settings(epochs: int) -> dict[str, Any]:
    """The Trainer arguments every Lightning row shares: CPU, training epochs only."""
    return dict(
        accelerator="cpu",
        max_epochs=epochs,
        limit_val_batches=0,  # training epochs only, as in the other loops
        enable_model_summary=False,  # printed once at fit start, not per epoch
    )


def timed_fit(
    module: pl.LightningModule,
    datamodule: pl.LightningDataModule,
    epochs: int,
    progress_bar: bool = False,
) -> EpochTimes:
    """Seconds of each training epoch after the first (warm-up) of ``module`` fitted on
    ``datamodule`` by a Trainer with nothing but the loop: no validation, logger,
    checkpoint or summary (the bar only if asked for, as ``callbacks=default`` has it).
    A dlbasics task gets the Trainer profiler and CUDA probe of dlbasics' own Trainer
    (``utils.lean_trainer``); any other module Lightning's defaults."""
    dlbasics = isinstance(module, Task)
    timer = EpochTimer()
    callbacks: list[pl.Callback] = [timer]
    if progress_bar:  # as callbacks=default configures it
        bar_config = OmegaConf.load(Path(CONFIG_DIR) / "callbacks" / "rich_progress_bar.yaml")
        callbacks.append(instantiate(bar_config.rich_progress_bar))
    trainer = pl.Trainer(
        **loop_settings(epochs),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress_bar,
        callbacks=callbacks,
        profiler=no_profiler() if dlbasics else None,
    )
    with cuda_probe_of("dlbasics" if dlbasics else "lightning"):
        trainer.fit(module, datamodule=datamodule)
    return timer.times[1:]


def fashion_mnist(data_dir: str, train_subset: int | None = None) -> FashionMNISTDataModule:
    """A fresh DataModule for one run (``train_subset``: that many training images)."""
    return FashionMNISTDataModule(
        data_dir=data_dir, batch_size=BATCH_SIZE, train_subset=train_subset
    )


def lightning_epochs(
    module: pl.LightningModule,
    new_datamodule: Callable[[], FashionMNISTDataModule],
    epochs: int,
    progress_bar: bool = False,
) -> EpochTimes:
    return timed_fit(module, new_datamodule(), epochs, progress_bar)


def compose_experiment(experiment: str, out_dir: str, overrides: list[str]) -> Any:
    """``train.yaml`` composed with ``experiment`` and ``overrides``, its run dir ``out_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"experiment={experiment}", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = out_dir
    return cfg


def default_callbacks_epochs(
    workload: Workload, new_datamodule: Callable[[], FashionMNISTDataModule], epochs: int
) -> EpochTimes:
    """The task fitted by a Trainer carrying the callbacks and logger of ``callbacks=default
    logger=tensorboard``, built from the workload's composed experiment the way
    ``dlbasics-train`` builds them (``build_trainer``), with the rows' shared loop settings."""
    timer = EpochTimer()
    with tempfile.TemporaryDirectory(prefix="epoch_time_") as out_dir:
        cfg = compose_experiment(
            workload.experiment, out_dir, ["callbacks=default", "logger=tensorboard"]
        )
        trainer = build_trainer(cfg, extra_callbacks=[timer], **loop_settings(epochs))
        with cuda_probe_of("dlbasics"):
            trainer.fit(dlbasics_task(workload), datamodule=new_datamodule())
    return timer.times[1:]


def per_sample_loader(workload: Workload, data_dir: str, epochs: int) -> EpochTimes:
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))]
    )
    dataset = datasets.FashionMNIST(data_dir, train=True, transform=transform, download=False)
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
    net, optimizer = workload.net_and_optimizer()
    return timed_epochs(lambda: train_epoch(net, optimizer, loader), epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("DLBASICS_DATA_DIR", "data"))
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="softmax")
    parser.add_argument("--epochs", type=int, default=4, help="per run; the first is dropped")
    parser.add_argument("--repeats", type=int, default=1, help="runs per way, taking turns")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch intra-op threads (0: torch's default); 1 is steadier on a busy machine",
    )
    parser.add_argument(
        "--skip-per-sample", action="store_true", help="leave out the slow per-sample path"
    )
    parser.add_argument(
        "--train-subset", type=int, help="that many training images (a quick check; default: all)"
    )
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is dropped as warm-up)")
    if args.threads:
        torch.set_num_threads(args.threads)

    def new_datamodule() -> FashionMNISTDataModule:
        return fashion_mnist(args.data_dir, args.train_subset)

    datamodule = new_datamodule()
    datamodule.prepare_data()
    datamodule.setup("fit")
    data_dir, epochs, work = args.data_dir, args.epochs, WORKLOADS[args.workload]
    ways: dict[str, Callable[[], EpochTimes]] = {
        "plain PyTorch loop": lambda: plain_loop(work, datamodule, epochs, normalise_once=True),
        "plain loop, uint8 normalised/batch": lambda: plain_loop(
            work, datamodule, epochs, normalise_once=False
        ),
        "plain loop on dlbasics' DataLoader": lambda: plain_loop_on_dataloader(
            work, datamodule, epochs
        ),
        "bare LightningModule": lambda: lightning_epochs(BareModule(work), new_datamodule, epochs),
        "dlbasics (no progress bar)": lambda: lightning_epochs(
            dlbasics_task(work), new_datamodule, epochs
        ),
        "dlbasics (rich progress bar)": lambda: lightning_epochs(
            dlbasics_task(work), new_datamodule, epochs, progress_bar=True
        ),
        DEFAULT_ROW: lambda: default_callbacks_epochs(work, new_datamodule, epochs),
    }
    if args.workload == "lenet":
        ways["plain loop, channels_last"] = lambda: plain_loop(
            work, datamodule, epochs, normalise_once=True, channels_last=True
        )
        ways["plain loop, torch.compile"] = lambda: plain_loop(
            work, datamodule, epochs, normalise_once=True, compiled=True
        )
        ways[CHANNELS_LAST_ROW] = lambda: lightning_epochs(
            dlbasics_task(work, channels_last=True), new_datamodule, epochs
        )
    turns: dict[str, list[EpochTimes]] = defaultdict(list)  # per way, one list per turn
    for _ in range(args.repeats):
        for name, way in ways.items():
            turns[name].append(way())
    if not args.skip_per_sample and args.workload == "softmax" and args.train_subset is None:
        # one run: at ~15x the others its noise does not matter
        turns["torchvision per-sample ToTensor"].append(per_sample_loader(work, data_dir, epochs))
    seconds = {name: statistics.median(chain(*runs)) for name, runs in turns.items()}
    paired = {
        f"{top} vs {short}": paired_ratio(turns[top], turns[bottom])
        for top, bottom, short in PAIRED
        if top in turns and bottom in turns
    }

    print(
        f"\n{args.workload}: torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{len(datamodule.train_set)} training images, batch {BATCH_SIZE}, median of "
        f"{args.repeats} x {epochs - 1} epochs per way (per-sample: 1 x {epochs - 1})"
    )
    plain = seconds["plain PyTorch loop"]
    width = max(len(name) for name in seconds) + 2
    print(f"{'way':<{width}}{'s/epoch':>9}{'vs plain':>10}")
    for name, value in seconds.items():
        print(f"{name:<{width}}{value:>9.3f}{value / plain:>9.2f}x")
    quiet = seconds["dlbasics (no progress bar)"]
    uint8 = seconds["plain loop, uint8 normalised/batch"]
    print(f"dlbasics (no bar) / plain uint8 loop: {quiet / uint8:.2f}x")
    bare = seconds["bare LightningModule"]
    print(f"dlbasics (no bar) / bare LightningModule: {quiet / bare:.2f}x")
    print(f"{DEFAULT_ROW} / bare LightningModule: {seconds[DEFAULT_ROW] / bare:.2f}x")
    print(f"{DEFAULT_ROW} / dlbasics (no bar): {seconds[DEFAULT_ROW] / quiet:.2f}x")
    print("\n".join(paired_lines(paired)))
    per_sample = seconds.get("torchvision per-sample ToTensor")
    if per_sample is not None:
        print(f"per-sample / dlbasics (no bar): {per_sample / quiet:.1f}x")
    if args.record:
        values = {f"{name} s/epoch": value for name, value in seconds.items()}
        values.update({f"{name} vs plain": value / plain for name, value in seconds.items()})
        values["dlbasics (no progress bar) vs bare"] = quiet / bare
        values[f"{DEFAULT_ROW} vs bare"] = seconds[DEFAULT_ROW] / bare
        values.update(paired_values(paired))
        values["threads"] = torch.get_num_threads()
        method = (
            f"seconds per epoch, median of {args.repeats} runs x {epochs - 1} epochs per way "
            f"(first epoch of each run dropped), ways taking turns in one process; 'paired': "
            f"median over the turns of the two ways' per-turn ratio, 90 % bootstrap interval"
        )
        write_measurements(args.record, values, method)


if __name__ == "__main__":
    main()
