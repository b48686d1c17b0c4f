"""Prune bad Optuna trials from inside training: a Lightning callback that reports the
monitored validation metric to the trial after every epoch and stops hopeless trials.

The Optuna sweeper launches a trial in this process and leaves it in
``active_trial``; outside such a sweep the callback does nothing, so the same
config runs on its own too.
"""

from typing import Any

import pytorch_lightning as pl

active_trial: Any = None  # optuna.Trial of the job running in this process, set by the sweeper
pruned_trials: set[int] = set()


class OptunaPruning(pl.Callback):
    def __init__(self, monitor: str = "val/loss") -> None:
        self.monitor = monitor

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trial = active_trial
        if trial is None or trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        trial.report(float(trainer.callback_metrics[self.monitor]), step=trainer.current_epoch)
        if trial.should_prune():
            import optuna

            pruned_trials.add(trial.number)
            raise optuna.TrialPruned(
                f"trial {trial.number} pruned at epoch {trainer.current_epoch}"
            )
