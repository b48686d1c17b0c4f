"""Parameters per layer, printed at the start and kept as ``model_summary.txt`` in the run dir;
the TensorBoard graph too when the logger has ``log_graph: true``."""

import logging
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from torch import nn

log = logging.getLogger("dlbasics")

FILENAME = "model_summary.txt"


def parameter_table(model: nn.Module) -> str:
    """One row per module that owns parameters: name, type, exact count, trainable count."""
    rows = [("layer", "type", "params", "trainable")]
    total = trainable = 0
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if not own:
            continue
        count = sum(p.numel() for p in own)
        learn = sum(p.numel() for p in own if p.requires_grad)
        total, trainable = total + count, trainable + learn
        rows.append((name, type(module).__name__, f"{count:,}", f"{learn:,}"))
    rows.append(("total", "", f"{total:,}", f"{trainable:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(-1, "-" * len(lines[0]))
    return "\n".join(lines) + "\n"


class ModelSummaryFile(pl.Callback):
    """Writes ``<run dir>/model_summary.txt`` when fitting starts and logs it.

    For the graph, TensorBoard needs an example input: when a TensorBoard
    logger has ``log_graph: true`` and the task sets no
    ``example_input_array``, one training example is used.
    """

    def __init__(self, filename: str = FILENAME) -> None:
        self.filename = filename

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if pl_module.example_input_array is None and _graph_wanted(trainer):
            batch = next(iter(trainer.datamodule.train_dataloader()))
            pl_module.example_input_array = batch[0][:1]
        if not trainer.is_global_zero:
            return
        table = parameter_table(pl_module)
        path = Path(trainer.default_root_dir) / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table)
        log.info("model summary (also in %s):\n%s", path, table)


def _graph_wanted(trainer: pl.Trainer) -> bool:
    return trainer.datamodule is not None and any(
        isinstance(logger, TensorBoardLogger) and logger._log_graph for logger in trainer.loggers
    )
