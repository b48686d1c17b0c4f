"""Polynomial and logistic nets, the binary task and metrics, weights-only weight decay."""

import math

import pytest
import torch
from torch import nn

from dlbasics.errors import ConfigError, DataError
from dlbasics.metrics import binary_metrics
from dlbasics.nets.logistic import LogisticRegression
from dlbasics.nets.polynomial import PolynomialRegression
from dlbasics.optimizers import decay_weights_only, lbfgs
from dlbasics.tasks import BinaryClassificationTask


def test_binary_metrics_worked_example():
    # TP=5, FP=3, TN=7, FN=7
    target = torch.tensor([1] * 5 + [0] * 3 + [0] * 7 + [1] * 7)
    logits = torch.tensor([2.0] * 5 + [1.5] * 3 + [-1.0] * 7 + [-3.0] * 7)
    values = {k: float(v) for k, v in binary_metrics()(logits, target).items()}
    assert values["acc"] == pytest.approx(0.54545, abs=1e-5)
    assert values["precision"] == pytest.approx(0.625, abs=1e-6)
    assert values["recall"] == pytest.approx(0.41667, abs=1e-5)
    assert values["f1"] == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ConfigError, match="model.threshold"):
        binary_metrics(threshold=1.5)


def test_polynomial_features_and_coefficients():
    net = PolynomialRegression(degree=4)
    x = torch.tensor([[2.0], [-1.0]])
    expected = torch.stack([x[:, 0] ** i / math.factorial(i) for i in (1, 2, 3)], dim=1)
    assert torch.allclose(net.features(x), expected)
    with torch.no_grad():
        net.linear.bias.fill_(5.0)
        net.linear.weight.copy_(torch.tensor([[1.2, -3.4, 5.6]]))
    assert net.coefficients().tolist() == pytest.approx([5.0, 1.2, -3.4, 5.6])
    truth = 5 + 1.2 * 2 - 3.4 * 4 / 2 + 5.6 * 8 / 6
    assert float(net(x).detach()[0, 0]) == pytest.approx(truth, rel=1e-6)
    plain = PolynomialRegression(degree=3, factorial=False)
    assert plain.features(x)[0].tolist() == [2.0, 4.0]


def test_polynomial_degree_one_is_a_constant():
    net = PolynomialRegression(degree=1)
    assert sum(p.numel() for p in net.parameters()) == 1
    assert net(torch.randn(5, 1)).shape == (5, 1)


def test_polynomial_bad_options():
    with pytest.raises(ConfigError, match="model.net.degree must be an integer >= 1"):
        PolynomialRegression(degree=0)
    with pytest.raises(ConfigError, match="one input feature, but the data set has 2"):
        PolynomialRegression(degree=3, in_features=2)


def test_binary_task_loss_and_prediction():
    task = BinaryClassificationTask(
        net=LogisticRegression(in_features=3),
        optimizer={"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1},
    )
    x, target = torch.randn(8, 3), torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    output = task(x)
    assert output.shape == (8, 1)
    expected = nn.functional.binary_cross_entropy_with_logits(output[:, 0], target.float())
    assert float(task.compute_loss(output, target)) == pytest.approx(float(expected))
    assert torch.allclose(task.predict_outputs(output), output.sigmoid())
    with pytest.raises(DataError, match="binary targets must be 0 or 1, found 2"):
        task.metric_inputs(output, torch.tensor([0, 1, 2, 0, 1, 0, 0, 1]))
    with pytest.raises(DataError, match=r"one logit per sample, shape \(N, 1\), got \(8, 3\)"):
        task.metric_inputs(torch.randn(8, 3), target)


def test_decay_weights_only_leaves_the_bias_alone():
    layer = nn.Linear(3, 1)
    weight, bias = layer.weight.detach().clone(), layer.bias.detach().clone()
    optimizer = decay_weights_only(layer.parameters(), "torch.optim.SGD", weight_decay=3.0, lr=0.1)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [3.0, 0.0]
    for p in layer.parameters():
        p.grad = torch.zeros_like(p)  # a zero loss gradient: only the decay moves parameters
    optimizer.step()
    assert torch.allclose(layer.weight, weight * (1 - 0.1 * 3.0))
    assert torch.equal(layer.bias, bias)
    with pytest.raises(ConfigError, match="model.optimizer.optimizer='torch.optim.Nope'"):
        decay_weights_only(layer.parameters(), "torch.optim.Nope")


def test_lbfgs_refuses_weight_decay():
    layer = nn.Linear(2, 1)
    assert isinstance(lbfgs(layer.parameters(), weight_decay=0.0), torch.optim.LBFGS)
    with pytest.raises(ConfigError, match="L-BFGS has no weight decay"):
        lbfgs(layer.parameters(), weight_decay=0.1)
