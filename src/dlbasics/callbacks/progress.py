"""The progress bar of ``callbacks=default``: Lightning's RichProgressBar, updated on a timer.

After every batch Lightning's bar updates its rich task and reads the logged metrics
(``trainer.progress_bar_metrics``, then ``.item()`` on each tensor: a host sync), and its
refresh thread wakes ``refresh_rate`` (100) times a second to redraw. On a small model,
whose steps take a millisecond, that costs several percent of the epoch. This bar hands a
batch's end to Lightning's only when its timer is due (``redraws_per_second``, 4 by
default: as fast as a reader can follow) and redraws at that rate. The batch it skipped
last is handed over at the end of the epoch (or when another dataloader starts), and the
end of the epoch is drawn at once, so every epoch ends on its exact batch count and metrics.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar
from pytorch_lightning.callbacks.progress.rich_progress import RichProgressBarTheme

from dlbasics.utils.checks import require_positive

# rich's redraw thread wakes this often to see whether an update asked for a redraw; when the
# bar stops it waits for the thread's current sleep (Lightning's thread sleeps, it does not
# wait on an event), so a slow wake rate would add its period to every fit, test and predict.
WAKES_PER_SECOND = 20


@dataclass(slots=True)
class SkippedBatchEnd:
    """A batch end the timer kept from Lightning's bar: the hook and its arguments."""

    hook: Callable[..., None]
    args: tuple[Any, ...]
    dataloader_idx: int


def dataloader_index(hook_args: tuple[Any, ...], position: int) -> int:
    """The ``dataloader_idx`` among a batch hook's positional arguments (0 when absent)."""
    return int(hook_args[position]) if len(hook_args) > position else 0


class TimedRichProgressBar(RichProgressBar):
    """A RichProgressBar that updates and redraws at most ``redraws_per_second`` times a
    second (epoch ends aside); ``leave``, ``theme`` and ``console_kwargs`` are
    RichProgressBar's."""

    def __init__(
        self,
        redraws_per_second: float = 4.0,
        leave: bool = False,
        theme: RichProgressBarTheme | None = None,
        console_kwargs: dict[str, Any] | None = None,
    ) -> None:
        key = "callbacks.rich_progress_bar.redraws_per_second"  # no bar: rich_progress_bar=null
        redraws_per_second = require_positive(key, redraws_per_second)
        super().__init__(
            refresh_rate=max(redraws_per_second, WAKES_PER_SECOND),  # the thread's wake rate
            leave=leave,
            theme=theme or RichProgressBarTheme(),
            console_kwargs=console_kwargs,
        )
        self.redraw_interval = 1.0 / redraws_per_second
        self.clock: Callable[[], float] = time.monotonic  # seconds; tests step their own
        self.next_update = 0.0  # clock time from which a batch end is passed on
        self.updates = 0  # batch ends passed on to Lightning's bar (the others were skipped)
        self.skipped: dict[str, SkippedBatchEnd] = {}  # per stage, the last one kept back

    # --- the timer ------------------------------------------------------------------------
    def _on_batch_end(
        self, stage: str, dataloader_idx: int, hook: Callable[..., None], *args: Any
    ) -> None:
        """Call Lightning's batch-end ``hook`` with ``args`` if the timer is due, else keep it."""
        now = self.clock()
        if now < self.next_update:
            self.skipped[stage] = SkippedBatchEnd(hook, args, dataloader_idx)
            return
        self.next_update = now + self.redraw_interval
        self.skipped.pop(stage, None)
        self.updates += 1
        hook(*args)

    def _pass_on_skipped(self, stage: str, dataloader_idx: int | None = None) -> None:
        """Hand over the stage's last skipped batch end: at the end of its epoch, or (with
        ``dataloader_idx``) before a batch of another dataloader gets its own bar."""
        skipped = self.skipped.get(stage)
        if skipped is None or dataloader_idx == skipped.dataloader_idx:
            return
        del self.skipped[stage]
        self.updates += 1
        skipped.hook(*skipped.args)

    # --- batch ends go through the timer ------------------------------------------------------
    # Lightning passes the hooks' arguments by position, and ``dataloader_idx`` only when
    # there are several dataloaders: (trainer, pl_module, outputs, batch, batch_idx[, idx]).
    def on_train_batch_end(self, *args: Any) -> None:
        self._on_batch_end("train", 0, super().on_train_batch_end, *args)

    def on_validation_batch_end(self, *args: Any) -> None:
        hook = super().on_validation_batch_end
        self._on_batch_end("validate", dataloader_index(args, 5), hook, *args)

    def on_test_batch_end(self, *args: Any) -> None:
        self._on_batch_end("test", dataloader_index(args, 5), super().on_test_batch_end, *args)

    def on_predict_batch_end(self, *args: Any) -> None:
        hook = super().on_predict_batch_end
        self._on_batch_end("predict", dataloader_index(args, 5), hook, *args)

    # --- a new dataloader's bar starts after the old one's last batch ---------------------------
    # (trainer, pl_module, batch, batch_idx[, dataloader_idx])
    def on_validation_batch_start(self, *args: Any) -> None:
        self._pass_on_skipped("validate", dataloader_index(args, 4))
        super().on_validation_batch_start(*args)

    def on_test_batch_start(self, *args: Any) -> None:
        self._pass_on_skipped("test", dataloader_index(args, 4))
        super().on_test_batch_start(*args)

    def on_predict_batch_start(self, *args: Any) -> None:
        self._pass_on_skipped("predict", dataloader_index(args, 4))
        super().on_predict_batch_start(*args)

    # --- every epoch ends on its exact count, drawn at once ---------------------------------------
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._pass_on_skipped("train")
        super().on_train_epoch_end(trainer, pl_module)
        self.refresh(hard=True)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The task logs an epoch's metrics after the bar's epoch end: show the last epoch's
        in the frame the run leaves on screen (Lightning's epoch-end update, once more)."""
        super().on_train_epoch_end(trainer, pl_module)
        self.refresh(hard=True)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._pass_on_skipped("validate")
        super().on_validation_epoch_end(trainer, pl_module)

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._pass_on_skipped("test")
        super().on_test_epoch_end(trainer, pl_module)
        self.refresh(hard=True)

    def on_predict_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._pass_on_skipped("predict")
        super().on_predict_epoch_end(trainer, pl_module)
        self.refresh(hard=True)
