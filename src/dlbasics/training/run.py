"""One training job: fit on train/val, test the best checkpoint, write metrics.json."""

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig

from dlbasics.callbacks.interruption import DEFAULT_SIGNALS, Interruption
from dlbasics.callbacks.rng_state import RngStateInCheckpoints
from dlbasics.errors import ConfigError
from dlbasics.training.continued import LAST, LAST_CHECKPOINT, run_checkpoint
from dlbasics.utils.checkpoints import check_checkpoint
from dlbasics.utils.checks import require_integer
from dlbasics.utils.config import config_value
from dlbasics.utils.config_tree import log_config_tree
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer
from dlbasics.utils.run_dir import scalar_metrics, write_metrics

log = logging.getLogger("dlbasics")


def seed_run(cfg: DictConfig) -> None:
    """Seed model init, shuffling and dropout (``seed``); data sets have their own seed."""
    pl.seed_everything(require_integer("seed", cfg.seed, minimum=0), workers=True)


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """The checkpoint ``ckpt_path`` names; ``last`` is the ``checkpoints/last.ckpt`` of the
    run this command continues (its run dir was chosen by training/continued.py; a CV
    run's: its newest fold's)."""
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path == LAST:
        last = run_checkpoint(Path(cfg.paths.output_dir))
        if last is None:
            raise ConfigError(
                f"ckpt_path=last: no run under {Path(cfg.paths.output_dir).parent} that was "
                f"started with these overrides has {LAST_CHECKPOINT}; pass "
                f"ckpt_path=<run dir>/{LAST_CHECKPOINT}"
            )
        return str(last)
    if ckpt_path is not None and not Path(ckpt_path).is_file():
        raise ConfigError(f"ckpt_path={ckpt_path} does not exist; pass the path of a .ckpt file")
    return ckpt_path


def resume_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """What every training run carries, whatever ``callbacks`` holds: RNG states in its
    checkpoints (exact resume) and a checkpointed stop on ``interrupt.signals``."""
    signals = config_value(cfg, "interrupt.signals", DEFAULT_SIGNALS)
    return [RngStateInCheckpoints(), Interruption(list(signals))]


def stop_if_signalled(trainer: pl.Trainer) -> None:
    """After ``fit``: one more look for a signal that came after its last batch
    (callbacks/interruption.py), so that nothing more starts once one has."""
    for callback in trainer.callbacks:
        if isinstance(callback, Interruption):
            callback.stop_if_signalled(trainer)


def fit_and_test(cfg: DictConfig) -> dict[str, Any]:
    """Run one training job described by a composed ``train.yaml`` config."""
    ckpt_path = resume_checkpoint(cfg)
    seed_run(cfg)
    started = time.perf_counter()
    datamodule = build_datamodule(cfg)
    log_config_tree(cfg, config_value(cfg, "extras.print_config", True))
    model = build_model(cfg)
    if ckpt_path:  # a truncated, foreign or other model's file: one message, before training
        check_checkpoint(ckpt_path, model)
    trainer = build_trainer(cfg, extra_callbacks=resume_callbacks(cfg))
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    stop_if_signalled(trainer)  # before the test
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
