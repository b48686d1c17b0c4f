"""Activation statistics: exact values on a known tensor, hook life cycle, the dead-ReLU study."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from dlbasics.callbacks.activation_stats import ActivationStats, activation_stats
from dlbasics.train import train
from tests.tensorboard_runs import load_events, quick_run, scalars

pytestmark = pytest.mark.filterwarnings("ignore")

ACTIVATIONS = [f"net.layers.{i}" for i in (1, 3, 5, 7)]


def test_stats_of_a_known_output():
    output = torch.tensor([[0.0, 1.0, 0.0], [0.0, 3.0, 2.0]])  # unit 0 is zero for the batch
    mean, std, dead = activation_stats(output).tolist()
    assert mean == pytest.approx(1.0)
    assert std == pytest.approx((8.0 / 5.0) ** 0.5)  # unbiased std of the six values
    assert dead == pytest.approx(1 / 3)


def test_hooks_exist_only_for_logged_steps():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Tanh())
    callback = ActivationStats(every_n_steps=2)
    logged = []
    trainer = SimpleNamespace(
        global_step=0,
        is_global_zero=True,
        loggers=[SimpleNamespace(log_metrics=lambda values, step: logged.append((step, values)))],
    )
    for step in (0, 1):
        trainer.global_step = step
        callback.on_train_batch_start(trainer, net, None, step)
        net(torch.randn(5, 3))
        trainer.global_step = step + 1  # the optimizer step has run by batch end
        callback.on_train_batch_end(trainer, net, None, None, step)
        assert all(not module._forward_hooks for module in net.modules())
    assert [step for step, _ in logged] == [0]  # logged at the step the batch belonged to
    assert set(logged[0][1]) == {
        f"activations/{i}/{s}" for i in (1, 3) for s in ActivationStats.STATS
    }


def dead_fractions(compose_config, tmp_path, fake_data_dir, activation: str):
    run_dir = tmp_path / activation
    quick_run(
        compose_config,
        run_dir,
        fake_data_dir,
        "experiment=nndl/dead_relu",
        f"model.net.activation={activation}",
        "callbacks.activation_stats.every_n_steps=1",
        "callbacks.grad_norms.every_n_steps=1",
        "test=false",
    )
    events = load_events(run_dir)
    dead = {name: scalars(events, f"activations/{name}/dead_fraction") for name in ACTIVATIONS}
    first_layer_grad = scalars(events, "grad_norm/net.layers.0.weight")
    return dead, first_layer_grad


def test_bias_minus_eight_kills_every_relu_but_no_leaky_relu(
    compose_config, tmp_path, fake_data_dir
):
    dead, grad = dead_fractions(compose_config, tmp_path, fake_data_dir, "relu")
    assert {step for values in dead.values() for step in values} == {0, 1}
    assert all(value == 1.0 for values in dead.values() for value in values.values())
    assert all(value == 0.0 for value in grad.values())  # dead units pass no gradient

    dead, grad = dead_fractions(compose_config, tmp_path, fake_data_dir, "leaky_relu")
    assert all(value == 0.0 for values in dead.values() for value in values.values())
    assert all(value > 0.0 for value in grad.values())


@pytest.mark.slow
def test_leaky_relu_trains_where_relu_stays_at_chance(compose_config, tmp_path, real_data_dir):
    """One epoch on the real Fashion-MNIST (≈1 min on 2 cores per activation)."""
    accuracy = {}
    for activation in ("relu", "leaky_relu"):
        cfg = compose_config(
            [
                "experiment=nndl/dead_relu",
                f"model.net.activation={activation}",
                "trainer=cpu",
                "trainer.max_epochs=1",
                f"paths.data_dir={real_data_dir}",
            ]
        )
        cfg.paths.output_dir = str(tmp_path / activation)
        accuracy[activation] = train(cfg)["test/acc"]
    assert accuracy["relu"] < 0.12  # chance is 0.10; measured 0.100
    assert accuracy["leaky_relu"] > 0.18  # measured 0.209 after one epoch, and rising
