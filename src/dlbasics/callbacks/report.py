"""Classification report at the end of every test: per-class table and confusion matrix.

Writes ``report.csv`` and ``report.md`` into the run dir, the markdown to
TensorBoard's text tab (``test/classification_report``) and the confusion
matrix, counts and row-normalised, as the figure ``test/confusion_matrix``.
Runs of other tasks (regression) are left alone.

The counts come from the task's own confusion matrix (``Task.confusion_metric``),
fed with its ``metric_inputs`` (same decision rule as the logged metrics) and
reduced across processes before anything is written, so a DDP run reports every
test sample exactly once.
"""

from pathlib import Path

import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from torch import Tensor
from torchmetrics import Metric

from dlbasics.metrics.report import Counts, markdown, report_rows, write_csv
from dlbasics.utils.figures import log_figure, plt
from dlbasics.utils.loggers import tensorboard_writers
from dlbasics.utils.run_dir import scalar_metrics

REPORT_CSV = "report.csv"
REPORT_MD = "report.md"


def _annotate(axis, values: Tensor, text: list[list[str]]) -> None:
    threshold = float(values.max()) / 2 if values.numel() else 0.0
    for i, row in enumerate(text):
        for j, label in enumerate(row):
            color = "white" if float(values[i, j]) > threshold else "black"
            axis.text(j, i, label, ha="center", va="center", fontsize=7, color=color)


def multiclass_figure(matrix: Tensor, names: list[str], annotate_up_to: int = 20) -> Figure:
    """Counts and row-normalised (recall per true class) side by side."""
    matrix = matrix.double().cpu()
    normalised = matrix / matrix.sum(1, keepdim=True).clamp(min=1)
    size = max(4.0, 0.45 * len(names) + 2)
    figure, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for axis, values, title, fmt in (
        (axes[0], matrix, "counts", "{:.0f}"),
        (axes[1], normalised, "row-normalised", "{:.2f}"),
    ):
        image = axis.imshow(values.numpy(), cmap="Blues")
        figure.colorbar(image, ax=axis, fraction=0.046)
        axis.set(title=title, xlabel="predicted", ylabel="true")
        axis.set_xticks(range(len(names)), names, rotation=90)
        axis.set_yticks(range(len(names)), names)
        if len(names) <= annotate_up_to:
            _annotate(axis, values, [[fmt.format(float(v)) for v in row] for row in values])
    figure.tight_layout()
    return figure


def multilabel_figure(matrices: Tensor, names: list[str], columns: int = 5) -> Figure:
    """One 2x2 panel per label: counts, and in brackets the share of the true row."""
    matrices = matrices.double().cpu()
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.4 * rows), squeeze=False)
    for axis in axes.flat[len(names) :]:
        axis.axis("off")
    for axis, matrix, name in zip(axes.flat, matrices, names, strict=False):
        normalised = matrix / matrix.sum(1, keepdim=True).clamp(min=1)
        axis.imshow(normalised.numpy(), cmap="Blues", vmin=0, vmax=1)
        text = [
            [f"{matrix[i, j]:.0f}\n({normalised[i, j]:.2f})" for j in range(2)] for i in range(2)
        ]
        _annotate(axis, normalised, text)
        axis.set(title=name, xlabel="predicted", ylabel="true")
        axis.set_xticks([0, 1], ["0", "1"])
        axis.set_yticks([0, 1], ["0", "1"])
    figure.tight_layout()
    return figure


class ClassificationReport(pl.Callback):
    """Per-class precision/recall/F1/support and the confusion matrix of the test set."""

    def __init__(self, figure: bool = True, annotate_up_to: int = 20) -> None:
        self.figure = figure
        self.annotate_up_to = annotate_up_to
        self.confusion: Metric | None = None

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        make = getattr(pl_module, "confusion_metric", None)  # dlbasics tasks have it
        self.confusion = make() if make is not None else None
        if self.confusion is not None:
            self.confusion.to(pl_module.device)

    def on_test_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if self.confusion is None:
            return
        x, target = batch
        with torch.no_grad():
            output = pl_module(x)
        preds, target = pl_module.metric_inputs(output, target)
        self.confusion.update(preds, target.long())  # the task's metrics checked them already

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.confusion is None or not self.confusion.update_called:
            return
        matrix = self.confusion.compute()  # every process takes part in the reduction
        self.confusion = None
        if not trainer.is_global_zero:
            return
        names = [str(name) for name in trainer.datamodule.class_names]
        rows = report_rows(Counts.from_confusion(matrix), names)
        summary = scalar_metrics(trainer.callback_metrics, "test")
        text = markdown(rows, summary)
        run_dir = Path(trainer.default_root_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        write_csv(run_dir / REPORT_CSV, rows)
        (run_dir / REPORT_MD).write_text(text)
        for writer in tensorboard_writers(trainer):
            writer.add_text("test/classification_report", text, trainer.global_step)
        if self.figure:
            if matrix.ndim == 3:
                figure = multilabel_figure(matrix, names)
            else:
                figure = multiclass_figure(matrix, names, self.annotate_up_to)
            log_figure(trainer, "test/confusion_matrix", figure)
