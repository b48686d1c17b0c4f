"""Gradient norms: exact values on a tiny net, and the vanishing-gradient study's event files."""

import math

import pytest
import torch
from torch import nn

from dlbasics.callbacks.grad_norms import gradient_norms
from tests.tensorboard_runs import load_events, quick_run, scalars

pytestmark = pytest.mark.filterwarnings("ignore")

WEIGHTS = [f"grad_norm/net.layers.{i}.weight" for i in (0, 2, 4, 6, 8)]


def test_norms_of_a_known_gradient():
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0]]))
    layer(torch.tensor([[3.0, 4.0]])).sum().backward()  # dL/dw = x = (3, 4), dL/db = 1
    norms = gradient_norms(layer)
    assert norms == pytest.approx(
        {"grad_norm/weight": 5.0, "grad_norm/bias": 1.0, "grad_norm/total": math.sqrt(26.0)}
    )
    assert gradient_norms(nn.Linear(2, 1)) == {}  # no backward yet: nothing to log


def first_over_last(compose_config, tmp_path, fake_data_dir, activation: str):
    run_dir = tmp_path / activation
    quick_run(
        compose_config,
        run_dir,
        fake_data_dir,
        "experiment=nndl/vanishing_gradients",
        f"model.net.activation={activation}",
        "callbacks.grad_norms.every_n_steps=1",
        "test=false",
    )
    events = load_events(run_dir)
    expected = {*WEIGHTS, *(w.replace("weight", "bias") for w in WEIGHTS), "grad_norm/total"}
    assert expected <= set(events.Tags()["scalars"])
    per_param = {tag: scalars(events, tag) for tag in expected - {"grad_norm/total"}}
    total = scalars(events, "grad_norm/total")
    assert sorted(total) == [0, 1]  # every_n_steps=1, two training batches
    for step, value in total.items():
        squares = sum(values[step] ** 2 for values in per_param.values())
        assert value == pytest.approx(math.sqrt(squares), rel=1e-5)
    return per_param[WEIGHTS[0]][0] / per_param[WEIGHTS[-1]][0]


def test_sigmoid_gradients_vanish_towards_the_input_and_relu_ones_do_not(
    compose_config, tmp_path, fake_data_dir
):
    sigmoid = first_over_last(compose_config, tmp_path, fake_data_dir, "sigmoid")
    relu = first_over_last(compose_config, tmp_path, fake_data_dir, "relu")
    print(f"first/last layer gradient norm: sigmoid {sigmoid:.2e}, relu {relu:.2e}")
    assert sigmoid < 1e-2
    assert relu > 1e-1
    assert sigmoid / relu < 1e-2  # orders of magnitude apart
