"""Lightning's model summary at full depth, plus exact parameter counts per layer in the run
dir (``model_summary.txt``) and the TensorBoard graph when the logger has ``log_graph: true``.

Lightning's table rounds counts ("200 K") and counts trainable parameters for the
whole model only; the file keeps every layer's exact total and trainable count, so
frozen layers and size mistakes show.
"""

from pathlib import Path

import pytorch_lightning as pl
from torch import nn

from dlbasics.compat import logs_graph
from dlbasics.utils.checks import require_integer
from dlbasics.utils.loggers import tensorboard_loggers

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


class ModelSummaryFile(pl.callbacks.ModelSummary):
    """Lightning's ``ModelSummary`` (``max_depth=-1``: every layer) that also writes
    ``<run dir>/<filename>`` when fitting starts.

    For the graph, TensorBoard needs an example input: when a TensorBoard logger has
    ``log_graph: true`` and the task sets no ``example_input_array``, one training
    example is used (Lightning's summary then shows input and output sizes too).
    """

    def __init__(self, filename: str = FILENAME, max_depth: int = -1) -> None:
        # -1: every depth, 0: no table, n: n levels (Lightning fails on others at fit start)
        super().__init__(
            max_depth=require_integer("callbacks.model_summary.max_depth", max_depth, -1)
        )
        self.filename = filename

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        graph_wanted = any(logs_graph(logger) for logger in tensorboard_loggers(trainer))
        if pl_module.example_input_array is None and graph_wanted and trainer.datamodule:
            batch = next(iter(trainer.datamodule.train_dataloader()))
            pl_module.example_input_array = batch[0][:1]
        super().on_fit_start(trainer, pl_module)
        if trainer.is_global_zero:
            path = Path(trainer.default_root_dir) / self.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(parameter_table(pl_module))
