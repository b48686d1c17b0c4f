"""Figure for regression with any number of features: predicted against true test targets."""

import pytorch_lightning as pl

from dlbasics.callbacks.figure_data import predict, split_tensors
from dlbasics.utils.figures import log_figure, plt


class PredictedVsTrueFigure(pl.Callback):
    """At the end of fit: one dot per test sample; a perfect model puts them on the diagonal."""

    def __init__(self, tag: str = "figures/predicted_vs_true", split: str = "test") -> None:
        self.tag = tag
        self.split = split

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        data = split_tensors(trainer, self.split)
        if data is None:
            return
        truth = data[1].reshape(-1).float()
        predicted = predict(pl_module, data[0]).reshape(-1)
        mse = float(((predicted - truth) ** 2).mean())
        low = float(min(truth.min(), predicted.min()))
        high = float(max(truth.max(), predicted.max()))
        figure, axes = plt.subplots(figsize=(5, 5))
        axes.plot([low, high], [low, high], "k--", linewidth=1, label="y = ŷ")
        axes.scatter(truth, predicted, s=12)
        axes.set(xlabel="true y", ylabel="predicted ŷ", title=f"{self.split} set, MSE {mse:.4g}")
        axes.legend()
        log_figure(trainer, self.tag, figure)
