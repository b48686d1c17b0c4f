"""Figure for one-feature regression: the fitted curve over the data and the true function."""

import json

import pytorch_lightning as pl
import torch

from dlbasics.callbacks.figure_data import feature_count_matches, predict, split_tensors
from dlbasics.utils.checks import require_integer
from dlbasics.utils.figures import figure_path, log_figure, plt


class FittedCurveFigure(pl.Callback):
    """At the end of fit: training/test points, the model's curve and, when the DataModule
    knows it (``true_function``), the truth. The curve is also saved as
    ``figures/<tag>.json`` so a sweep can overlay the curves of several runs."""

    def __init__(self, tag: str = "figures/fitted_curve", points: int = 200) -> None:
        self.tag = tag
        self.points = require_integer("callbacks.fitted_curve.points", points, 2)  # a line: 2+

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not feature_count_matches(trainer, 1, "fitted-curve"):
            return
        train, test = split_tensors(trainer, "train"), split_tensors(trainer, "test")
        if train is None or test is None:
            return
        x_all = torch.cat([train[0], test[0]])[:, 0]
        grid = torch.linspace(float(x_all.min()), float(x_all.max()), self.points).unsqueeze(1)
        curve = predict(pl_module, grid).reshape(-1)
        true_function = getattr(trainer.datamodule, "true_function", None)
        truth = true_function(grid).reshape(-1) if true_function is not None else None

        figure, axes = plt.subplots(figsize=(6, 4))
        axes.scatter(train[0][:, 0], train[1].reshape(-1), s=14, label="train")
        axes.scatter(test[0][:, 0], test[1].reshape(-1), s=14, marker="x", label="test")
        if truth is not None:
            axes.plot(grid[:, 0], truth, "k--", label="true function")
        axes.plot(grid[:, 0], curve, "r-", label="fitted")
        axes.set(xlabel="x", ylabel="y", title=f"fit after {trainer.current_epoch} epochs")
        axes.legend()
        log_figure(trainer, self.tag, figure)
        if trainer.is_global_zero:
            record = {
                "x": grid[:, 0].tolist(),
                "fitted": curve.tolist(),
                "truth": None if truth is None else truth.tolist(),
                "train_x": train[0][:, 0].tolist(),
                "train_y": train[1].reshape(-1).tolist(),
            }
            figure_path(trainer.default_root_dir, self.tag).with_suffix(".json").write_text(
                json.dumps(record)
            )
