"""``dlbasics-eval ckpt_path=…``: test a checkpoint with the config its run was trained with."""

import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from dlbasics.utils.cli import hydra_entry
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer
from dlbasics.utils.run_dir import load_run_config, scalar_metrics, write_metrics

log = logging.getLogger("dlbasics")


def run_config_for(cfg: DictConfig) -> DictConfig:
    """The checkpoint's run config writing into this command's run dir, on one device so no
    sample is duplicated by a distributed sampler's padding. The run's data dir is kept
    unless ``data_dir=`` is given."""
    run_cfg = load_run_config(cfg.ckpt_path)
    run_cfg.paths.log_dir = cfg.paths.log_dir
    run_cfg.paths.output_dir = cfg.paths.output_dir
    if cfg.get("data_dir"):
        run_cfg.paths.data_dir = cfg.data_dir
    return OmegaConf.merge(run_cfg, {"trainer": {"devices": 1, "num_nodes": 1, "strategy": "auto"}})


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    run_cfg = run_config_for(cfg)
    pl.seed_everything(run_cfg.seed, workers=True)
    datamodule = build_datamodule(run_cfg)
    model = build_model(run_cfg)
    trainer = build_trainer(run_cfg)
    trainer.test(model, datamodule=datamodule, ckpt_path=str(cfg.ckpt_path))
    record: dict[str, Any] = scalar_metrics(trainer.callback_metrics, "test")
    record["ckpt_path"] = str(Path(cfg.ckpt_path).resolve())
    output_dir = Path(cfg.paths.output_dir)
    write_metrics(output_dir, record)
    log.info("run dir: %s", output_dir.resolve())
    return record


@hydra_entry("eval")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
