"""Polynomial and logistic nets, the binary task and metrics, weights-only weight decay."""

import math

import pytest
import torch
from torch import nn

from dlbasics.callbacks.weight_norm import weight_l2_norm
from dlbasics.errors import ConfigError, DataError
from dlbasics.metrics import binary_metrics
from dlbasics.nets.logistic import LogisticRegression
from dlbasics.nets.polynomial import PolynomialRegression
from dlbasics.tasks import BinaryClassificationTask
from dlbasics.tasks.optimizers import decay_weights_only


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
    with pytest.raises(ConfigError, match="optimizer.optimizer='torch.optim.Nope'"):
        decay_weights_only(layer.parameters(), "torch.optim.Nope")


def test_lbfgs_refuses_weight_decay():
    """optimizer=lbfgs has no weight decay: adding one fails when the task is built."""
    lbfgs = {"_target_": "torch.optim.LBFGS", "_partial_": True, "lr": 1.0}
    task = BinaryClassificationTask(net=LogisticRegression(in_features=2), optimizer=lbfgs)
    assert isinstance(task.configure_optimizers(), torch.optim.LBFGS)
    with pytest.raises(ConfigError, match=r"optimizer.weight_decay=0.1.*weight_decay"):
        BinaryClassificationTask(
            net=LogisticRegression(in_features=2), optimizer={**lbfgs, "weight_decay": 0.1}
        )


def test_l1_weight_decay_and_the_weight_norm_agree_on_what_a_weight_is():
    """A norm layer's scale is 1-D like a bias: L1, weights-only decay and ‖w‖ all skip it."""
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(2.0)
    task = BinaryClassificationTask(
        net=net, optimizer={"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1}
    )
    matrices = (3 * 4 + 4 * 1) * 2.0  # the two Linear weights only
    assert float(task.weight_l1()) == pytest.approx(matrices)
    assert weight_l2_norm(net) == pytest.approx(math.sqrt((3 * 4 + 4) * 4.0))
    optimizer = decay_weights_only(net.parameters(), "torch.optim.SGD", weight_decay=1.0, lr=0.1)
    decayed = {id(p) for p in optimizer.param_groups[0]["params"]}
    assert decayed == {id(net[0].weight), id(net[2].weight)}  # not net[1].weight (BatchNorm)


def test_callbacks_use_the_tasks_decision_rule():
    """A binary task with threshold 0.8 calls a logit of 1 (p = 0.73) class 0, as its metrics
    do; the old figure rule (logit > 0) would have called it class 1."""
    task = BinaryClassificationTask(
        threshold=0.8,
        net=LogisticRegression(in_features=2),
        optimizer={"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1},
    )
    logits = torch.tensor([[1.0], [2.0], [-1.0]])
    assert task.predicted_labels(logits).tolist() == [0, 1, 0]
