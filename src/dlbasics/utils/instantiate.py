"""Build the DataModule, task, callbacks, loggers and Trainer from a composed config."""

import logging
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

log = logging.getLogger("dlbasics")


def build_datamodule(cfg: DictConfig) -> pl.LightningDataModule:
    """Instantiate ``cfg.data`` and publish its shape as ``cfg.data_info`` for the model."""
    datamodule = instantiate(cfg.data)
    with open_dict(cfg):
        cfg.data_info = datamodule.info()
    return datamodule


def build_model(cfg: DictConfig) -> pl.LightningModule:
    return instantiate(cfg.model)


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node and "_target_" in node]


def build_trainer(cfg: DictConfig, **overrides: Any) -> pl.Trainer:
    """``overrides`` replace Trainer arguments, e.g. ``logger=False`` for prediction."""
    loggers = _instantiate_group(cfg.get("logger"))
    callbacks = _instantiate_group(cfg.get("callbacks"))
    for callback in callbacks:  # e.g. the HParams summary records the whole run config
        if hasattr(callback, "use_run_config"):
            callback.use_run_config(cfg)
    arguments = {
        "callbacks": callbacks,
        "logger": loggers or False,
        **overrides,
    }
    return instantiate(cfg.trainer, **arguments)
