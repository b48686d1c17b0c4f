"""The book experiments: every file composes and builds; short runs write their figures;
full runs (``-m slow``) reach the books' numbers."""

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from dlbasics.callbacks.loss_history import read_history
from dlbasics.studies.regression_figures import write_overlay
from dlbasics.train import train
from dlbasics.utils.cli import CONFIG_DIR
from dlbasics.utils.instantiate import build_datamodule, build_model

pytestmark = pytest.mark.filterwarnings("ignore")

EXPERIMENTS = [
    "book/house_price",
    "book/trapezoid",
    "d2l/polynomial_fit",
    "d2l/polynomial_underfit",
    "d2l/polynomial_overfit",
    "d2l/weight_decay",
    "nndl/sin_fit",
    "nndl/moons_logistic",
    "nndl/moons_mlp",
    "nndl/blobs_softmax",
    "nndl/iris_softmax",
    "nndl/iris_mlp",
]
QUIET = ["trainer=cpu", "callbacks.rich_progress_bar=null", "logger=csv"]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_builds(name, compose_config):
    cfg = compose_config([f"experiment={name}"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg)
    datamodule.setup()
    x, _ = next(iter(datamodule.train_dataloader()))
    assert model(x).shape[0] == len(x)


def test_polynomial_experiments_follow_d2l(compose_config):
    settings = {}
    for name in ("fit", "underfit", "overfit"):
        cfg = compose_config([f"experiment=d2l/polynomial_{name}"])
        settings[name] = (
            cfg.model.net.degree,
            cfg.trainer.max_epochs,
            cfg.data.batch_size,
            cfg.optimizer.lr,
        )
    assert settings == {
        "fit": (4, 400, 10, 0.01),
        "underfit": (2, 400, 10, 0.01),
        "overfit": (20, 1500, 10, 0.01),
    }


@pytest.mark.parametrize(
    ("name", "key", "values"),
    [
        ("d2l/weight_decay", "optimizer.weight_decay", "0,3"),
        ("nndl/sin_fit", "model.net.degree", "1,2,4,9"),
    ],
)
def test_sweeps_are_declared_in_the_experiment(name, key, values):
    experiment = OmegaConf.load(Path(CONFIG_DIR) / "experiment" / f"{name}.yaml")
    assert str(experiment.hydra.sweeper.params[key]) == values


def test_short_polynomial_run_writes_history_curve_and_overlay(compose_config, tmp_path):
    cfg = compose_config(["experiment=d2l/polynomial_fit", "trainer.max_epochs=3", *QUIET])
    record = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    history = read_history(run_dir)
    assert history["epoch"] == [0.0, 1.0, 2.0]
    assert history["train/loss"][-1] < history["train/loss"][0]
    assert history["val/loss"][-1] == pytest.approx(record["val/loss"], rel=1e-5)
    assert (run_dir / "figures" / "figures_fitted_curve.png").is_file()
    assert (run_dir / "figures" / "figures_loss_curves.png").is_file()
    curve = json.loads((run_dir / "figures" / "figures_fitted_curve.json").read_text())
    assert len(curve["x"]) == len(curve["fitted"]) == len(curve["truth"]) == 200
    for kind in ("losses", "curves"):
        out = write_overlay(kind, [run_dir], "model.net.degree", tmp_path / f"{kind}.png")
        assert out.stat().st_size > 1000


@pytest.mark.parametrize(
    ("name", "figure"),
    [
        ("nndl/moons_logistic", "figures_decision_boundary.png"),
        ("book/trapezoid", "figures_predicted_vs_true.png"),
    ],
)
def test_short_run_writes_its_figure(name, figure, compose_config):
    cfg = compose_config([f"experiment={name}", "trainer.max_epochs=2", *QUIET])
    record = train(cfg)
    assert (Path(cfg.paths.output_dir) / "figures" / figure).is_file()
    assert record["epochs"] == 2


# --- full runs: the books' numbers (minutes on 2 CPU cores) -----------------------------------
def full_run(compose_config, name: str, *overrides: str) -> tuple[dict, dict]:
    """Train ``name``; return metrics.json and the best checkpoint's state dict."""
    cfg = compose_config([f"experiment={name}", *QUIET, *overrides])
    record = train(cfg)
    state = torch.load(record["best_ckpt"], map_location="cpu", weights_only=False)["state_dict"]
    print(name, overrides, {k: round(v, 5) for k, v in record.items() if isinstance(v, float)})
    return record, state


@pytest.mark.slow
def test_house_price_slope(compose_config):
    _, state = full_run(compose_config, "book/house_price")
    assert float(state["net.linear.weight"][0, 0]) == pytest.approx(2.8, abs=0.1)


@pytest.mark.slow
def test_trapezoid_mlp(compose_config):
    record, _ = full_run(compose_config, "book/trapezoid")
    assert record["test/mse"] < 0.01


@pytest.mark.slow
def test_polynomial_fit_and_underfit(compose_config):
    fit, state = full_run(compose_config, "d2l/polynomial_fit")
    coefficients = torch.cat([state["net.linear.bias"], state["net.linear.weight"][0]])
    print("degree-4 coefficients", coefficients.tolist())
    assert torch.allclose(coefficients, torch.tensor([5.0, 1.2, -3.4, 5.6]), atol=0.1)
    underfit, _ = full_run(compose_config, "d2l/polynomial_underfit")
    assert underfit["test/loss"] > 10 * fit["test/loss"]


@pytest.mark.slow
def test_polynomial_overfit(compose_config):
    # d2l compares the final weights' losses per epoch; the held-out curve is our val/loss
    # (the test split is scored on the best-val checkpoint, which favours the held-out side).
    overfit, _ = full_run(compose_config, "d2l/polynomial_overfit")
    history = read_history(Path(overfit["best_ckpt"]).parent.parent)
    print("overfit final train/val loss", history["train/loss"][-1], history["val/loss"][-1])
    assert history["train/loss"][-1] < history["val/loss"][-1]


@pytest.mark.slow
def test_weight_decay_shrinks_w_and_test_loss(compose_config):
    plain, _ = full_run(compose_config, "d2l/weight_decay", "optimizer.weight_decay=0")
    decayed, _ = full_run(compose_config, "d2l/weight_decay", "optimizer.weight_decay=3")
    assert decayed["val/weight_l2"] * 10 < plain["val/weight_l2"]
    assert decayed["test/loss"] < plain["test/loss"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "threshold"),
    [
        ("nndl/moons_logistic", 0.75),
        ("nndl/moons_mlp", 0.80),
        ("nndl/blobs_softmax", 0.74),
        ("nndl/iris_softmax", 0.80),
        ("nndl/iris_mlp", 0.93),
    ],
)
def test_shallow_classifiers_reach_the_book(name, threshold, compose_config):
    record, _ = full_run(compose_config, name)
    assert record["test/acc"] >= threshold
