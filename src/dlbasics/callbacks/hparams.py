"""The run's flattened config in TensorBoard's HParams tab, with its final val/test metrics.

Lightning's own hyperparameter logging writes the module's hyperparameters with
``hp_metric = -1`` or nothing; this writes every config key (``optimizer.lr``,
``data.batch_size``, …) and points the HParams tab at the real ``val/*`` and
``test/*`` scalar tags, so the runs of a multirun can be sorted and filtered by
their results without any value being logged twice.
"""

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig
from torch.utils.tensorboard.summary import hparams

from dlbasics.compat import file_writer
from dlbasics.utils.config import resolved_where_possible
from dlbasics.utils.loggers import tensorboard_writers

log = logging.getLogger("dlbasics")

HPARAM_TYPES = (bool, int, float, str)


def flatten_config(node: Any, prefix: str = "") -> dict[str, bool | int | float | str]:
    """``{"optimizer.lr": 0.1, …}``: dotted keys as typed on the command line; lists
    and ``None`` become strings (the HParams plugin takes only scalars)."""
    if isinstance(node, Mapping):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(flatten_config(value, f"{prefix}{key}."))
        return flat
    key = prefix.rstrip(".")
    return {key: node if isinstance(node, HPARAM_TYPES) else str(node)}


def stage_metrics(metrics: Mapping[str, Any], stages: Iterable[str]) -> list[str]:
    prefixes = tuple(f"{stage}/" for stage in stages)
    return sorted(name for name in metrics if name.startswith(prefixes))


class HParamsSummary(pl.Callback):
    """Writes one HParams session per run, when its last stage ends.

    The run's config reaches the callback through ``use_run_config`` (called
    by ``build_trainer``); without it the LightningModule's hyperparameters
    are used. With ``test: true`` the session is written after testing so the
    ``test/*`` metrics are in it, otherwise when fitting ends.
    """

    def __init__(self, stages: tuple[str, ...] = ("val", "test")) -> None:
        self.stages = tuple(stages)
        self.config: dict[str, Any] | None = None
        self.test_follows_fit = False
        self._metrics: set[str] = set()
        self._written = False

    def use_run_config(self, cfg: DictConfig) -> None:
        self.config = resolved_where_possible(cfg)
        self.test_follows_fit = bool(cfg.get("test", False))

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._metrics.update(stage_metrics(trainer.callback_metrics, self.stages))
        if not self.test_follows_fit:
            self._write(trainer, pl_module)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._metrics.update(stage_metrics(trainer.callback_metrics, self.stages))
        self._write(trainer, pl_module)

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The metric values are the last points of the scalar tags the run already logged,
        so nothing is logged twice and no curve gets a stray point."""
        writers = tensorboard_writers(trainer)
        if self._written or not writers or not trainer.is_global_zero:
            return
        self._written = True
        config = self.config if self.config is not None else dict(pl_module.hparams)
        experiment, start, end = hparams(
            flatten_config(config), dict.fromkeys(sorted(self._metrics), 0.0)
        )
        for writer in writers:
            for summary in (experiment, start, end):
                file_writer(writer).add_summary(summary)
            writer.flush()
        log.info(
            "hparams: %d config keys with %d metrics in the HParams tab",
            len(flatten_config(config)),
            len(self._metrics),
        )
