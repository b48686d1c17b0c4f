"""lightning-hydra-template's own MNIST job, timed per epoch: a plain PyTorch loop, a bare
LightningModule and the ``dlbasics-train`` CLI (``experiment=lht/mnist_mlp``), and the
template itself when a checkout of it is given.

The job: MLP 784-64-128-64-10 with BatchNorm after each hidden Linear, batch 128, Adam lr
1e-3, 55,000 training and 5,000 validation MNIST images held in memory; an epoch is the
training pass and the validation pass.

1. plain loop:  the same net (``dlbasics.nets.MLP``, ``norm=batch``) trained by a
                hand-written loop over pre-normalised float tensors, then evaluated on the
                validation images (``eval()``, no gradients, batches of 1024: loss and
                accuracy);
2. bare module: a LightningModule with nothing but the loss (and the same validation
                loss) on the experiment's MNISTDataModule, a Trainer with no logger,
                checkpoint, progress bar or sanity check;
3. CLI:         ``python -m dlbasics.train experiment=lht/mnist_mlp trainer.max_epochs=N``
                as a user runs it (default callbacks and TensorBoard logger, checkpoints,
                the test at the end), for two values of N; its marginal epoch is
                ``(t(N2) - t(N1)) / (N2 - N1)`` of the processes' wall times, so start-up and
                the test, the same in both, cancel. That includes everything an epoch costs a
                user (validation, checkpoint writes, logger flushes, the progress bar). A
                second row reads the same from inside the longer run: the median interval
                between the TensorBoard wall times of ``val/loss`` in successive epochs (a
                whole epoch cycle, with no start-up noise; the target uses the first, which
                is measured the same way as the template);
4. template:    the same difference for ``python src/train.py trainer=cpu
                trainer.max_epochs=N test=False`` in a lightning-hydra-template checkout
                (``--template DIR`` or ``$LHT_TEMPLATE_DIR``; its Python: ``--template-python``
                or ``$LHT_TEMPLATE_PYTHON``, default this one; it needs the template's
                ``lightning``, ``rootutils`` and ``hydra-colorlog``), reading MNIST from
                ``--data-dir``; skipped with a note otherwise.

1 and 2 run ``--epochs`` epochs in this process (the first dropped as warm-up); each way runs
``--repeats`` times, the ways taking turns, and reports its median; the ratios the targets
are about are also taken turn by turn (``turns.py``). Run:
``python benchmarks/template_job.py --data-dir $DLBASICS_DATA_DIR``.
"""

import argparse
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from itertools import chain, pairwise
from pathlib import Path

import pytorch_lightning as pl
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import Tensor, nn

from dlbasics.data import MNISTDataModule
from dlbasics.nets import MLP
from dlbasics.utils.measurements import write_measurements

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: its sibling modules
from cli_runs import child_environment, train_command, wall_seconds
from epoch_time import (
    BareModule,
    EpochTimer,
    EpochTimes,
    Workload,
    cuda_probe_of,
    timed_epochs,
    train_epoch,
)
from turns import paired_lines, paired_ratio, paired_values

EXPERIMENT = "lht/mnist_mlp"
BATCH_SIZE, EVAL_BATCH_SIZE, VAL_SIZE = 128, 1024, 5000  # as conf/experiment/lht/mnist_mlp.yaml
TARGET = 1.5  # the target: the CLI epoch at most this many plain-loop epochs
PAIRED = {  # ratios also taken turn by turn (turns.py): name -> (numerator, denominator)
    "dlbasics CLI vs plain": ("CLI", "plain loop"),
    "dlbasics CLI period vs plain": ("CLI period", "plain loop"),
    "dlbasics CLI vs bare": ("CLI", "bare LightningModule"),
    "template vs dlbasics CLI": ("template CLI", "CLI"),
}
JOB = Workload(
    lambda: MLP(784, 10, hidden_sizes=[64, 128, 64], activation="relu", norm="batch"),
    lr=1e-3,
    experiment=EXPERIMENT,
    optimizer_cls=torch.optim.Adam,
)


def mnist(data_dir: str) -> MNISTDataModule:
    """A fresh DataModule as the experiment configures it (the Trainer sets it up)."""
    return MNISTDataModule(
        data_dir=data_dir, val_size=VAL_SIZE, batch_size=BATCH_SIZE, eval_batch_size=EVAL_BATCH_SIZE
    )


def plain_loop(datamodule: MNISTDataModule, epochs: int) -> EpochTimes:
    """Training pass over normalised float tensors, then the validation pass."""
    train, val = datamodule.train_set, datamodule.val_set
    train_x, train_y = train.transform(train.inputs), train.targets
    val_x, val_y = val.transform(val.inputs), val.targets
    net, optimizer = JOB.net_and_optimizer()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")

    def validate() -> tuple[float, float]:
        net.eval()
        loss, correct = 0.0, 0
        with torch.no_grad():
            for x, y in zip(
                val_x.split(EVAL_BATCH_SIZE), val_y.split(EVAL_BATCH_SIZE), strict=True
            ):
                scores = net(x)
                loss += float(loss_fn(scores, y))
                correct += int((scores.argmax(1) == y).sum())
        net.train()
        return loss / len(val_y), correct / len(val_y)

    def epoch() -> None:
        order = torch.randperm(len(train_x))
        batches = ((train_x[idx], train_y[idx]) for idx in torch.split(order, BATCH_SIZE))
        train_epoch(net, optimizer, batches)
        validate()

    return timed_epochs(epoch, epochs)


class BareValidatedModule(BareModule):
    """The bare module with a validation loss, computed and dropped as the training one."""

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        return self.loss_fn(self.net(x), y)


def bare_module(data_dir: str, epochs: int) -> EpochTimes:
    timer = EpochTimer()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    with cuda_probe_of("lightning"):
        trainer.fit(BareValidatedModule(JOB), datamodule=mnist(data_dir))
    return timer.times[1:]


def marginal_epoch(run_for: Callable[[int], float], epochs: tuple[int, int]) -> float:
    """Seconds one more epoch adds to a whole run: the difference of two run lengths."""
    first, second = epochs
    shorter = run_for(first)
    return (run_for(second) - shorter) / (second - first)


class CliJob:
    """``dlbasics-train experiment=lht/mnist_mlp`` run for a number of epochs; remembers the
    run dir of its latest run."""

    def __init__(self, data_dir: str, workdir: Path, env: dict[str, str]) -> None:
        self.data_dir, self.workdir, self.env = data_dir, workdir, env
        self.runs = workdir / "logs" / "train" / "runs"
        self.last_run_dir: Path | None = None

    def __call__(self, epochs: int) -> float:
        overrides = [
            f"experiment={EXPERIMENT}",
            f"trainer.max_epochs={epochs}",
            f"paths.data_dir={self.data_dir}",
        ]
        before = set(self.runs.glob("*"))
        seconds = wall_seconds(
            train_command(self.workdir / "logs", overrides), self.workdir, self.env
        )
        (self.last_run_dir,) = set(self.runs.glob("*")) - before
        return seconds


def epoch_period(run_dir: Path, tag: str = "val/loss") -> float:
    """Median seconds between the TensorBoard wall times at which ``tag`` was written in
    successive epochs: a whole epoch cycle, whatever happens at its boundaries."""
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    stamps = [event.wall_time for event in events.Scalars(tag)]
    return statistics.median(later - earlier for earlier, later in pairwise(stamps))


def cli_epochs(job: CliJob, epochs: tuple[int, int]) -> dict[str, EpochTimes]:
    """The CLI's marginal epoch, and the epoch period its longer run logged."""
    marginal = marginal_epoch(job, epochs)
    assert job.last_run_dir is not None  # the longer run, which marginal_epoch ran last
    return {"CLI": [marginal], "CLI period": [epoch_period(job.last_run_dir)]}


def template_run(
    checkout: Path, python: str, data_dir: str, workdir: Path, env: dict[str, str]
) -> Callable[[int], float]:
    def seconds(epochs: int) -> float:
        words = [
            python,
            "src/train.py",
            "trainer=cpu",
            f"trainer.max_epochs={epochs}",
            # no test at the end: the template's test reloads its best checkpoint with
            # torch.load's default weights_only=True, which torch >= 2.6 refuses for the
            # pickled net it saved; both runs skip it, so their difference is unchanged
            "test=False",
            f"paths.data_dir={data_dir}",
            f"paths.log_dir={workdir / 'template_logs'}",
        ]
        return wall_seconds(words, checkout, env)

    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("DLBASICS_DATA_DIR", "data"))
    parser.add_argument("--epochs", type=int, default=4, help="in-process runs; the first dropped")
    parser.add_argument(
        "--cli-epochs",
        type=int,
        nargs=2,
        default=(2, 6),
        metavar=("N1", "N2"),
        help="the two run lengths whose difference gives the CLI's marginal epoch",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per way, taking turns")
    parser.add_argument(
        "--template",
        type=Path,
        default=os.environ.get("LHT_TEMPLATE_DIR"),
        help="a lightning-hydra-template checkout (default: $LHT_TEMPLATE_DIR; unset: skipped)",
    )
    parser.add_argument(
        "--template-python",
        default=os.environ.get("LHT_TEMPLATE_PYTHON", sys.executable),
        help="its interpreter, with its requirements (default: $LHT_TEMPLATE_PYTHON or this one)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads here and (OMP_NUM_THREADS) in the CLI processes; 0: torch's default",
    )
    parser.add_argument(
        "--require-template",
        action="store_true",
        help="stop unless a template checkout is given (the README's record includes it)",
    )
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    first, second = args.cli_epochs
    if args.require_template and args.template is None:
        parser.error(
            "--require-template: no lightning-hydra-template checkout given; pass --template "
            "DIR or set LHT_TEMPLATE_DIR (and LHT_TEMPLATE_PYTHON to a Python with its "
            "requirements), as README.md's Speed section sets them up"
        )
    if args.epochs < 2 or not 1 <= first < second or args.repeats < 1:
        parser.error("needs --epochs >= 2, 1 <= N1 < N2 and --repeats >= 1")
    data_dir = str(Path(args.data_dir).resolve())
    threads = {"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}
    if args.threads:
        torch.set_num_threads(args.threads)
    datamodule = mnist(data_dir)  # the plain loop's tensors
    datamodule.prepare_data()
    datamodule.setup("fit")
    turns: dict[str, list[EpochTimes]] = defaultdict(list)  # per way, one list per turn
    with tempfile.TemporaryDirectory(prefix="template_job_") as workdir:
        cli = CliJob(data_dir, Path(workdir), {**child_environment(), **threads})
        ways: dict[str, Callable[[], dict[str, EpochTimes]]] = {
            "plain loop": lambda: {"plain loop": plain_loop(datamodule, args.epochs)},
            "bare": lambda: {"bare LightningModule": bare_module(data_dir, args.epochs)},
            "CLI": lambda: cli_epochs(cli, (first, second)),
        }
        if args.template is not None:
            template_env = {**os.environ, **threads}
            template = template_run(
                args.template, args.template_python, data_dir, Path(workdir), template_env
            )
            ways["template"] = lambda: {"template CLI": [marginal_epoch(template, (first, second))]}
        for _ in range(args.repeats):
            for way in ways.values():
                for name, values in way().items():
                    turns[name].append(values)
    report(turns, args, len(datamodule.train_set), len(datamodule.val_set))


def report(
    turns: dict[str, list[EpochTimes]], args: argparse.Namespace, train: int, val: int
) -> None:
    """Print the table and the ratios the targets are about; write the record."""
    seconds = {name: statistics.median(chain(*runs)) for name, runs in turns.items()}
    paired = {
        name: paired_ratio(turns[top], turns[bottom])
        for name, (top, bottom) in PAIRED.items()
        if top in turns
    }
    first, second = args.cli_epochs
    plain, cli, bare = seconds["plain loop"], seconds["CLI"], seconds["bare LightningModule"]
    template = seconds.get("template CLI")
    print(
        f"\nlightning-hydra-template's MNIST job: torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {train} training + {val} validation images, "
        f"batch {BATCH_SIZE}; median of {args.repeats} runs per way (in-process: x "
        f"{args.epochs - 1} epochs; CLIs: marginal epoch of {first} vs {second} epochs)"
    )
    labels = {
        "plain loop": "plain PyTorch loop (training + validation pass)",
        "bare LightningModule": "bare LightningModule, same DataModule",
        "CLI": f"dlbasics-train experiment={EXPERIMENT}, marginal epoch",
        "CLI period": "... the same runs, epoch period in their TensorBoard events",
        "template CLI": "lightning-hydra-template src/train.py, marginal epoch",
    }
    print(f"{'way':<58}{'s/epoch':>9}{'vs plain':>10}")
    for name, value in seconds.items():
        print(f"{labels[name]:<58}{value:>9.3f}{value / plain:>9.2f}x")
    print(f"dlbasics CLI / plain loop: {cli / plain:.2f}x (target <= {TARGET}x)")
    print(f"dlbasics CLI / bare LightningModule: {cli / bare:.2f}x")
    print("\n".join(paired_lines(paired)))
    if template is None:
        print(
            "speed-up over lightning-hydra-template: not run here "
            "(--template DIR or $LHT_TEMPLATE_DIR names a checkout)"
        )
    else:
        print(f"speed-up over lightning-hydra-template: {template / cli:.1f}x (target >= 5x)")
    if not args.record:
        return
    values = {
        "plain loop s/epoch": plain,
        "bare LightningModule s/epoch": bare,
        "dlbasics CLI s/epoch": cli,
        "dlbasics CLI period s/epoch": seconds["CLI period"],
        "dlbasics CLI period vs plain": seconds["CLI period"] / plain,
        "bare LightningModule vs plain": bare / plain,
        "dlbasics CLI vs plain": cli / plain,
        "dlbasics CLI vs bare": cli / bare,
        "threads": torch.get_num_threads(),
    }
    if template is not None:
        values["template CLI s/epoch"] = template
        values["template vs dlbasics CLI"] = template / cli
    values.update(paired_values(paired))
    method = (
        f"seconds per epoch (training + validation), median of {args.repeats} runs per way "
        f"taking turns; in-process ways: {args.epochs - 1} epochs per run after a warm-up one; "
        f"CLIs: (t({second} epochs) - t({first} epochs)) / {second - first} of whole processes; "
        f"'paired': median over the turns of the two ways' per-turn ratio, 90 % bootstrap "
        f"interval"
    )
    write_measurements(args.record, values, method)


if __name__ == "__main__":
    main()
