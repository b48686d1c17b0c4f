"""Stop on SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 at the next batch boundary, with a checkpoint.

A scheduler's SIGTERM (or Ctrl+C) should cost no more than the batch in progress, and
must not look like success. On a listed signal the run finishes its current training
batch, saves ``<run dir>/checkpoints/last.ckpt`` at that step (Lightning restarts such a
checkpoint mid-epoch, and the data loader continues after the batches already seen) and
raises :class:`TrainingInterrupted`; the training job records it and exits 128 + the
signal's number (143 for SIGTERM, 130 for SIGINT).

Under DDP every process takes part in each stop decision (one all-reduce of a flag per
batch), so all of them stop after the same batch and save one checkpoint together;
Lightning's own SIGTERM handling stops a process at a point of its own choosing, which
can leave the others waiting. A second signal stops at once, without a checkpoint.

A handler that was installed before training is kept: once the checkpoint is written,
the job calls it (``forward_signal``) and ends. Under submitit that is how a SLURM job is
requeued: SLURM sends SIGUSR2 before the time limit (``--signal=USR2@<delay>``) and
submitit's handler requeues the job, which then continues from this checkpoint in the
same job dir (sweeps/jobs.py).
"""

import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import pytorch_lightning as pl
import torch
import torch.distributed as dist

from dlbasics.errors import ConfigError

CHECKPOINT_NAME = "last.ckpt"
DEFAULT_SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2")
Handler = Callable[[int, FrameType | None], Any] | int | None


class TrainingInterrupted(Exception):
    """Training stopped on a signal after a checkpoint was saved."""

    def __init__(
        self, signum: int, step: int, epoch: int, checkpoint: str, outer_handler: Handler = None
    ) -> None:
        self.signum, self.step, self.epoch, self.checkpoint = signum, step, epoch, checkpoint
        self.outer_handler = outer_handler
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"{self.signal_name} at step {step} (epoch {epoch}); saved {checkpoint}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def forward_signal(self) -> None:
        """Call the handler that was in place before training, if a program installed one
        (e.g. submitit's, which requeues the job); Python's own SIGINT handler, which
        would only raise KeyboardInterrupt, is not."""
        handler = self.outer_handler
        if callable(handler) and handler is not signal.default_int_handler:
            handler(self.signum, None)


def parse_signals(names: Sequence[str]) -> list[signal.Signals]:
    known = {item.name for item in signal.Signals}
    unknown = [name for name in names if name not in known]
    if unknown or isinstance(names, str):
        raise ConfigError(
            f"interrupt.signals={list(names) if not isinstance(names, str) else names}: "
            f"{', '.join(unknown) or names} is not a signal name; use a list such as "
            f"[SIGTERM, SIGINT, SIGUSR1]"
        )
    return [signal.Signals[name] for name in names]


class Interruption(pl.Callback):
    """Turns the listed signals into a checkpointed stop after the current batch."""

    def __init__(self, signals: Sequence[str] = DEFAULT_SIGNALS) -> None:
        self.signals = parse_signals(signals)
        self.received: int | None = None
        self._outer: dict[int, Handler] = {}  # handlers from before Lightning's own
        self._replaced: dict[int, Handler] = {}  # handlers in place when ours went in

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":  # Lightning installs its own SIGTERM handler after this hook
            self.received = None
            self._outer = {signum: signal.getsignal(signum) for signum in self.signals}

    def _install(self) -> None:
        if not self._replaced:
            self._replaced = {signum: signal.getsignal(signum) for signum in self.signals}
            for signum in self.signals:
                signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:  # the second signal: stop now
            raise SystemExit(128 + signum)
        self.received = signum

    # sanity checking runs only when enabled, so install at whichever comes first
    def on_sanity_check_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._install()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._install()

    def stop_requested(self, trainer: pl.Trainer) -> int | None:
        """The signal every process agrees to stop on (the highest number any received)."""
        if trainer.world_size == 1 or not dist.is_initialized():
            return self.received
        flag = torch.tensor([self.received or 0], device=trainer.strategy.root_device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        # saved at the same point as ModelCheckpoint's every_n_train_steps checkpoints,
        # which Lightning restarts mid-epoch
        self.stop_if_signalled(trainer)

    def stop_if_signalled(self, trainer: pl.Trainer) -> None:
        """Save ``last.ckpt`` at this step and raise TrainingInterrupted if every process
        agrees that a listed signal came. Run after every training batch, and once more by
        the training job after ``fit``: a signal after the last batch (in the last
        validation or the fit's end) would otherwise go unanswered, and what runs next (the
        test, the next CV fold) would ignore the request to stop."""
        signum = self.stop_requested(trainer)
        if signum is not None:
            self._save_and_stop(trainer, signum)

    def _save_and_stop(self, trainer: pl.Trainer, signum: int) -> None:
        # <run dir>/checkpoints/last.ckpt, where ckpt_path=last looks, whatever checkpoint
        # callbacks there are (without ours, Lightning's own saves under the logger's dir)
        path = Path(trainer.default_root_dir) / "checkpoints" / CHECKPOINT_NAME
        trainer.save_checkpoint(path)
        step, epoch = trainer.global_step, trainer.current_epoch
        raise TrainingInterrupted(signum, step, epoch, str(path), self._outer.get(signum))

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for signum, handler in self._replaced.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._replaced = {}
