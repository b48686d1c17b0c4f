"""The foundation's reproduced results: d2l linear regression (fast) and the MNIST /
Fashion-MNIST accuracy levels (slow, real data from DLBASICS_DATA_DIR)."""

import pytest
import torch

from dlbasics.train import train

pytestmark = pytest.mark.filterwarnings("ignore")


def _learned_linear(best_ckpt: str) -> tuple[torch.Tensor, float]:
    state = torch.load(best_ckpt, weights_only=True)["state_dict"]
    return state["net.linear.weight"].flatten(), float(state["net.linear.bias"])


def test_d2l_linear_regression_recovers_the_true_parameters(compose_config):
    cfg = compose_config(["experiment=d2l/linear_regression", "trainer=cpu", "logger=csv"])
    record = train(cfg)
    w, b = _learned_linear(record["best_ckpt"])
    assert torch.allclose(w, torch.tensor([2.0, -3.4]), atol=0.01), w
    assert b == pytest.approx(4.2, abs=0.01)
    assert record["test/mse"] < 2e-4  # noise variance is 1e-4


def test_short_real_fashion_mnist_run_learns(compose_config, real_data_dir):
    cfg = compose_config(
        [
            "experiment=fmnist/softmax",
            f"paths.data_dir={real_data_dir}",
            "trainer=cpu",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=60",
            "callbacks=none",
            "logger=csv",
        ]
    )
    record = train(cfg)
    assert record["test/acc"] > 0.70  # chance is 0.10


ACCURACY_LEVELS = {
    "fmnist/softmax": 0.83,
    "fmnist/mlp": 0.85,
    "mnist/softmax": 0.92,
    "mnist/mlp": 0.97,
}


@pytest.mark.slow
@pytest.mark.parametrize("experiment", sorted(ACCURACY_LEVELS))
def test_experiment_reaches_the_book_accuracy(experiment, compose_config, real_data_dir):
    cfg = compose_config(
        [
            f"experiment={experiment}",
            f"paths.data_dir={real_data_dir}",
            "trainer=cpu",
            "callbacks=[model_checkpoint]",
            "logger=csv",
        ]
    )
    record = train(cfg)
    assert record["test/acc"] >= ACCURACY_LEVELS[experiment], record["test/acc"]
