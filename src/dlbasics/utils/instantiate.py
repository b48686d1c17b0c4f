"""Build the DataModule, task, callbacks, loggers and Trainer from a composed config."""

import logging
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from dlbasics.utils.run_dir import load_run_config

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


def run_config_for(cfg: DictConfig) -> DictConfig:
    """The config of the run that wrote ``cfg.ckpt_path``, writing into this command's run
    dir, on one device so no sample is duplicated by a distributed sampler's padding. The
    run's data dir is kept unless ``data_dir=`` is given."""
    run_cfg = load_run_config(cfg.ckpt_path)
    run_cfg.paths.log_dir = cfg.paths.log_dir
    run_cfg.paths.output_dir = cfg.paths.output_dir
    if cfg.get("data_dir"):
        run_cfg.paths.data_dir = cfg.data_dir
    return OmegaConf.merge(run_cfg, {"trainer": {"devices": 1, "num_nodes": 1, "strategy": "auto"}})


def rebuild_run(
    cfg: DictConfig, **trainer_overrides: Any
) -> tuple[pl.LightningDataModule, pl.LightningModule, pl.Trainer]:
    """DataModule, task and Trainer of a finished run, for eval and predict."""
    run_cfg = run_config_for(cfg)
    pl.seed_everything(run_cfg.seed, workers=True)
    datamodule = build_datamodule(run_cfg)
    return datamodule, build_model(run_cfg), build_trainer(run_cfg, **trainer_overrides)
