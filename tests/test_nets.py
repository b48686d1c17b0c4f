import pytest
import torch

from dlbasics.errors import ConfigError
from dlbasics.nets import MLP, LinearNet, SoftmaxRegression, make_activation


def test_linear_net_shapes_and_init():
    net = LinearNet(in_features=2)
    assert net(torch.randn(5, 2)).shape == (5, 1)
    assert float(net.linear.bias.detach().abs().sum()) == 0.0
    assert float(net.linear.weight.detach().std()) < 0.1


def test_softmax_regression_flattens_images():
    net = SoftmaxRegression(in_features=784, num_classes=10)
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_mlp_layers_follow_config():
    net = MLP(784, 10, hidden_sizes=[64, 32], activation="tanh", dropout=0.5)
    kinds = [type(m).__name__ for m in net.layers]
    assert kinds == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    assert net(torch.randn(4, 1, 28, 28)).shape == (4, 10)


def test_leaky_relu_takes_its_slope():
    act = make_activation("leaky_relu", negative_slope=0.2)
    assert float(act(torch.tensor([-1.0]))) == pytest.approx(-0.2)


def test_bad_mlp_options_name_the_key():
    with pytest.raises(
        ConfigError, match="model.net.activation='relu6' is unknown; allowed values"
    ):
        MLP(4, 2, activation="relu6")
    with pytest.raises(ConfigError, match="dropout"):
        MLP(4, 2, dropout=1.0)
    with pytest.raises(ConfigError, match="hidden_sizes"):
        MLP(4, 2, hidden_sizes=[0])
