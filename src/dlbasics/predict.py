"""``dlbasics-predict ckpt_path=…``: write predictions.csv for the run's test split, or with
``text_file=<file>`` for the lines of a text file (a run trained on text)."""

import csv
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig

from dlbasics.data.text import TextDataModule, TextLines
from dlbasics.errors import ConfigError
from dlbasics.utils.cli import hydra_entry
from dlbasics.utils.instantiate import rebuild_run

log = logging.getLogger("dlbasics")

PREDICTIONS_FILE = "predictions.csv"


def _label_set(row: list[int], names: list[str]) -> list[str]:
    ids = [i for i, on in enumerate(row) if on]
    return [";".join(map(str, ids)), ";".join(names[i] for i in ids)]


def _first(value: Any) -> float:
    while isinstance(value, list):  # a regression target row: its first value
        value = value[0]
    return float(value)


def _decisions(
    model: pl.LightningModule, outputs: torch.Tensor, names: list[str] | None
) -> tuple[list[str], list[list], list[str], Callable[[Any], list]]:
    """The prediction columns (header and one row per output) by the task's own decision
    rule, and the target columns' header with a function of one target (as a list entry)."""
    decision = model.decide(outputs)
    if decision is None:  # regression: one predicted value per output
        header = [f"prediction_{i}" for i in range(outputs.shape[1])]
        cells = [[f"{v:.6g}" for v in out] for out in outputs.tolist()]
        return header, cells, ["target"], lambda t: [f"{_first(t):.6g}"]
    predicted, probability = decision
    names = [str(name) for name in names]  # every classification DataModule names its classes
    if predicted.ndim == 2:  # multilabel: label sets, ids and names joined by ';'
        cells = [_label_set(p, names) for p in predicted.tolist()]
        targets = ["target", "target_names"]
        return ["predicted", "predicted_names"], cells, targets, lambda t: _label_set(t, names)
    cells = [
        [p, names[p], f"{prob:.6f}"]
        for p, prob in zip(predicted.tolist(), probability.tolist(), strict=True)
    ]
    header = ["predicted", "predicted_name", "probability"]
    return header, cells, ["target", "target_name"], lambda t: [t, names[t]]


def _rows(
    model: pl.LightningModule,
    outputs: torch.Tensor,
    targets: torch.Tensor,
    names: list[str] | None,
) -> tuple[list[str], list[list]]:
    """predictions.csv of a split: index, the prediction columns, the target columns."""
    header, cells, target_header, target_cells = _decisions(model, outputs, names)
    rows = [
        [i, *row, *target_cells(t)]
        for i, (row, t) in enumerate(zip(cells, targets.tolist(), strict=True))
    ]
    return ["index", *header, *target_header], rows


def _line_rows(
    model: pl.LightningModule, outputs: torch.Tensor, lines: TextLines, names: list[str]
) -> tuple[list[str], list[list]]:
    """predictions.csv of text lines: line number, text, the prediction columns."""
    header, cells, _, _ = _decisions(model, outputs, names)
    rows = [
        [number, text, *row]
        for number, text, row in zip(lines.numbers, lines.texts, cells, strict=True)
    ]
    return ["line", "text", *header], rows


def _text_lines(datamodule: pl.LightningDataModule, text_file: str) -> TextLines:
    if not isinstance(datamodule, TextDataModule):
        raise ConfigError(
            f"text_file={text_file}: the checkpoint's run was trained on "
            f"{type(datamodule).__name__}, which is no text set (it has no vocabulary to "
            f"encode text with); pass the checkpoint of a text run, or drop text_file to "
            f"predict this run's test split"
        )
    return datamodule.encode_lines(text_file, key="text_file")


def predict(cfg: DictConfig) -> Path:
    datamodule, model, trainer = rebuild_run(cfg, logger=False)
    ckpt_path = str(cfg.ckpt_path)
    if cfg.get("text_file"):
        # the lines alone are encoded: the run's training data need not be there
        lines = _text_lines(datamodule, str(cfg.text_file))
        loader = datamodule.eval_loader(lines.dataset)
        outputs = torch.cat(trainer.predict(model, dataloaders=loader, ckpt_path=ckpt_path))
        header, rows = _line_rows(model, outputs, lines, datamodule.class_names)
    else:
        outputs = torch.cat(trainer.predict(model, datamodule=datamodule, ckpt_path=ckpt_path))
        targets = datamodule.test_set.targets
        header, rows = _rows(model, outputs, targets, datamodule.class_names)
    path = Path(cfg.paths.output_dir) / PREDICTIONS_FILE
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    log.info("wrote %d predictions to %s", len(rows), path.resolve())
    return path


@hydra_entry("predict")
def main(cfg: DictConfig) -> None:
    predict(cfg)


if __name__ == "__main__":
    main()
