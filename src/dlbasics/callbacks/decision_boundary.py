"""Figure for two-feature classification: predicted class regions with the test points.

The regions follow the task's own decision rule (``Task.predicted_labels``: argmax, or
the binary threshold), so the figure agrees with the logged accuracy.
"""

import json

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn

from dlbasics.callbacks.figure_data import feature_count_matches, predict, split_tensors
from dlbasics.utils.checks import require_integer
from dlbasics.utils.figures import log_figure, plt


def draw_regions(axes, record: dict) -> None:
    """Predicted class regions (``regions`` on the ``xs`` x ``ys`` grid) and the test points."""
    regions, labels = torch.tensor(record["regions"]), torch.tensor(record["test_y"])
    points = torch.tensor(record["test_x"])
    num_classes = int(max(int(regions.max()), int(labels.max())) + 1)
    levels = torch.arange(num_classes + 1) - 0.5
    axes.contourf(
        record["xs"], record["ys"], regions, levels=levels, cmap="tab10", alpha=0.25, vmin=0, vmax=9
    )
    axes.scatter(
        points[:, 0],
        points[:, 1],
        c=labels,
        cmap="tab10",
        vmin=0,
        vmax=9,
        s=12,
        edgecolors="k",
        linewidths=0.3,
    )
    axes.set(xlabel="x1", ylabel="x2")


class DecisionBoundaryFigure(pl.Callback):
    """At the end of fit: the plane coloured by the predicted class, test points on top."""

    def __init__(self, tag: str = "figures/decision_boundary", resolution: int = 200) -> None:
        self.tag = tag
        # grid points per axis: fewer than 2 draws no boundary
        self.resolution = require_integer("callbacks.decision_boundary.resolution", resolution, 2)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not feature_count_matches(trainer, 2, "decision-boundary"):
            return
        if pl_module.predicted_labels(predict(pl_module, torch.zeros(1, 2))) is None:
            rank_zero_warn("decision-boundary figure skipped: the task predicts no classes")
            return
        train, test = split_tensors(trainer, "train"), split_tensors(trainer, "test")
        if train is None or test is None:
            return
        points = torch.cat([train[0], test[0]])
        low, high = points.min(dim=0).values - 0.5, points.max(dim=0).values + 0.5
        xs = torch.linspace(float(low[0]), float(high[0]), self.resolution)
        ys = torch.linspace(float(low[1]), float(high[1]), self.resolution)
        grid_x, grid_y = torch.meshgrid(xs, ys, indexing="xy")
        grid = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
        regions = pl_module.predicted_labels(predict(pl_module, grid)).reshape(grid_x.shape)
        test_labels = pl_module.predicted_labels(predict(pl_module, test[0]))
        accuracy = float((test_labels == test[1]).float().mean())

        record = {
            "xs": xs.tolist(),
            "ys": ys.tolist(),
            "regions": regions.tolist(),
            "test_x": test[0].tolist(),
            "test_y": test[1].tolist(),
            "accuracy": accuracy,
        }
        figure, axes = plt.subplots(figsize=(6, 5))
        draw_regions(axes, record)
        axes.set(title=f"decision regions, test points (acc {accuracy:.3f})")
        path = log_figure(trainer, self.tag, figure)
        if trainer.is_global_zero:  # for a sweep's overlay of several runs' boundaries
            path.with_suffix(".json").write_text(json.dumps(record))
