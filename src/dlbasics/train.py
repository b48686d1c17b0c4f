"""``dlbasics-train``: fit on train/val, test the best checkpoint, write metrics.json."""

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig

from dlbasics.sweeps.cv import cross_validate, cv_folds
from dlbasics.sweeps.jobs import sweep_job
from dlbasics.utils.cli import hydra_entry
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer
from dlbasics.utils.run_dir import scalar_metrics, write_metrics
from dlbasics.utils.validation import validate_config

log = logging.getLogger("dlbasics")


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run one training job described by a composed ``train.yaml`` config."""
    validate_config(cfg)
    if cv_folds(cfg):
        return cross_validate(cfg)
    pl.seed_everything(cfg.seed, workers=True)
    started = time.perf_counter()
    datamodule = build_datamodule(cfg)
    model = build_model(cfg)
    trainer = build_trainer(cfg)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    record: dict[str, Any] = scalar_metrics(trainer.callback_metrics, "val")
    checkpoint = trainer.checkpoint_callback
    best_ckpt = checkpoint.best_model_path if checkpoint is not None else ""
    if cfg.get("test"):
        if not best_ckpt:
            log.warning("no checkpoint was saved; testing the weights at the end of training")
        trainer.test(model, datamodule=datamodule, ckpt_path=best_ckpt or None)
        record.update(scalar_metrics(trainer.callback_metrics, "test"))
    record.update(
        epochs=trainer.current_epoch,
        global_step=trainer.global_step,
        seconds=round(time.perf_counter() - started, 3),
        best_ckpt=best_ckpt,
    )
    if trainer.is_global_zero:
        output_dir = Path(cfg.paths.output_dir)
        write_metrics(output_dir, record)
        log.info("run dir: %s", output_dir.resolve())
    return record


@hydra_entry("train")
def main(cfg: DictConfig) -> float | None:
    # in a multirun: skips finished jobs, records a crashed job in job.json and goes on
    return sweep_job(train)(cfg)


if __name__ == "__main__":
    main()
