"""Prune bad Optuna trials from inside training: a Lightning callback that reports the
monitored validation metric to the job's trial after every epoch and stops hopeless ones.

The sweeper gives every job the keys ``optuna.study``, ``optuna.storage`` and
``optuna.trial``; the callback finds its trial through the study's storage, so it
works with any launcher that can reach the storage. A storage keeps no pruner, so
the callback gets the sweeper's (``hydra.sweeper.pruner``) as its own config.
Outside an Optuna sweep (``trial: null``) it does nothing, so the same config runs
on its own too.
"""

from collections.abc import Mapping
from typing import Any

import optuna
import pytorch_lightning as pl
from hydra.utils import instantiate

from dlbasics.compat import optuna_trial


class OptunaPruning(pl.Callback):
    def __init__(
        self,
        monitor: str = "val/loss",
        study: str | None = None,
        storage: str | None = None,
        trial: int | None = None,
        pruner: optuna.pruners.BasePruner | Mapping[str, Any] | None = None,
    ) -> None:
        self.monitor, self.study, self.storage, self.number = monitor, study, storage, trial
        self.pruner = pruner
        self.trial: optuna.Trial | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.number is not None:
            pruner = self.pruner or optuna.pruners.NopPruner()  # Hydra built a config's
            pruner = instantiate(pruner) if isinstance(pruner, Mapping) else pruner
            study = optuna.load_study(study_name=self.study, storage=self.storage, pruner=pruner)
            self.trial = optuna_trial(study, self.number)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = trainer.callback_metrics
        if self.trial is None or trainer.sanity_checking or self.monitor not in metrics:
            return
        self.trial.report(float(metrics[self.monitor]), step=trainer.current_epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"trial {self.number} pruned at epoch {trainer.current_epoch}")
