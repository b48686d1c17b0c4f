"""Multilayer perceptron with configurable depth, width, activation and dropout."""

from collections.abc import Sequence

from torch import Tensor, nn

from dlbasics.errors import ConfigError
from dlbasics.nets.init import init_layers
from dlbasics.nets.norm import NORMS, make_norm
from dlbasics.utils.checks import require_choice, require_sizes

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def make_activation(name: str, **kwargs: float) -> nn.Module:
    """Build an activation by its config name (e.g. ``leaky_relu`` with ``negative_slope``)."""
    return ACTIVATIONS[require_choice("model.net.activation", name, sorted(ACTIVATIONS))](**kwargs)


class MLP(nn.Module):
    """``in_features → hidden_sizes… → out_features``; after each hidden linear layer come the
    norm (``none | batch | layer``), the activation and dropout, in that order (NNDL 7.5)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden_sizes: Sequence[int] = (256,),
        activation: str = "relu",
        activation_kwargs: dict | None = None,
        dropout: float = 0.0,
        init: str = "default",  # default | normal | zeros | xavier | he (nets/init.py)
        init_std: float = 0.01,  # std of init=normal
        bias_init: float | None = None,
        norm: str = "none",
    ) -> None:
        super().__init__()
        require_choice("model.net.norm", norm, NORMS)  # fails even without hidden layers
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.net.dropout must be in [0, 1), got {dropout}")
        hidden_sizes = require_sizes("model.net.hidden_sizes", hidden_sizes)
        layers: list[nn.Module] = []
        width = in_features
        for hidden in hidden_sizes:
            layers.append(nn.Linear(width, int(hidden)))
            if norm != "none":
                layers.append(make_norm(norm, int(hidden)))
            layers.append(make_activation(activation, **(activation_kwargs or {})))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(hidden)
        layers.append(nn.Linear(width, out_features))
        self.layers = nn.Sequential(*layers)
        init_layers(self.layers, init, init_std)
        if bias_init is not None:  # e.g. -8 kills every ReLU unit (the dead-ReLU experiment)
            for layer in self.layers:
                if isinstance(layer, nn.Linear):
                    nn.init.constant_(layer.bias, bias_init)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x.flatten(1))
