"""``dlbasics-eval ckpt_path=…``: test a checkpoint with the config its run was trained with."""

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dlbasics.utils.cli import hydra_entry
from dlbasics.utils.instantiate import rebuild_run
from dlbasics.utils.run_dir import scalar_metrics, write_metrics

log = logging.getLogger("dlbasics")


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    datamodule, model, trainer = rebuild_run(cfg)
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
