"""``dlbasics-predict ckpt_path=…``: write predictions.csv for the run's test split."""

import csv
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig

from dlbasics.utils.cli import hydra_entry
from dlbasics.utils.instantiate import rebuild_run

log = logging.getLogger("dlbasics")

PREDICTIONS_FILE = "predictions.csv"


def _label_set(row: list[int], names: list[str]) -> tuple[str, str]:
    ids = [i for i, on in enumerate(row) if on]
    return ";".join(map(str, ids)), ";".join(names[i] for i in ids)


def _rows(model, outputs: torch.Tensor, targets: torch.Tensor, names: list[str] | None):
    decision = model.decide(outputs)
    if decision is None:  # regression: one predicted value per output
        header = ["index", *(f"prediction_{i}" for i in range(outputs.shape[1])), "target"]
        return header, [
            [i, *(f"{v:.6g}" for v in out.tolist()), f"{float(t.flatten()[0]):.6g}"]
            for i, (out, t) in enumerate(zip(outputs, targets, strict=True))
        ]
    predicted, probability = decision
    names = [str(name) for name in names]  # every classification DataModule names its classes
    if predicted.ndim == 2:  # multilabel: label sets, ids and names joined by ';'
        header = ["index", "predicted", "predicted_names", "target", "target_names"]
        return header, [
            [i, *_label_set(p, names), *_label_set(t, names)]
            for i, (p, t) in enumerate(zip(predicted.tolist(), targets.tolist(), strict=True))
        ]
    header = ["index", "predicted", "predicted_name", "probability", "target", "target_name"]
    return header, [
        [i, p, names[p], f"{prob:.6f}", t, names[t]]
        for i, (p, prob, t) in enumerate(
            zip(predicted.tolist(), probability.tolist(), targets.tolist(), strict=True)
        )
    ]


def predict(cfg: DictConfig) -> Path:
    datamodule, model, trainer = rebuild_run(cfg, logger=False)
    batches = trainer.predict(model, datamodule=datamodule, ckpt_path=str(cfg.ckpt_path))
    outputs = torch.cat(batches)
    targets = datamodule.test_set.targets
    header, rows = _rows(model, outputs, targets, datamodule.class_names)
    path = Path(cfg.paths.output_dir) / PREDICTIONS_FILE
    with path.open("w", newline="") as handle:
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
