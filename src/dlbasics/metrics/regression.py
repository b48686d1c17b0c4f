"""Regression metrics: MAE, MSE, RMSE, MAPE (a fraction, not a percentage) and R²."""

from torchmetrics import MetricCollection
from torchmetrics.regression import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    R2Score,
)


def regression_metrics() -> MetricCollection:
    """R² is 1 − SS_res/SS_tot (a perfect fit gives 1, predicting the mean gives 0)."""
    return MetricCollection(
        {
            "mae": MeanAbsoluteError(),
            "mse": MeanSquaredError(),
            "rmse": MeanSquaredError(squared=False),
            "mape": MeanAbsolutePercentageError(),
            "r2": R2Score(),
        }
    )
