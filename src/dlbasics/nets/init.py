"""Weight initialisation schemes for the linear layers of a net (the initialisation study).

Biases start at zero in every scheme except ``default``, which keeps PyTorch's own
initialisation (Kaiming-uniform weights, small uniform biases).
"""

from collections.abc import Callable

from torch import Tensor, nn

from dlbasics.utils.checks import require_choice


def _normal(weight: Tensor, std: float) -> None:
    nn.init.normal_(weight, mean=0.0, std=std)


SCHEMES: dict[str, Callable[[Tensor, float], object] | None] = {
    "default": None,
    "normal": _normal,  # N(0, std²): std=0.01 makes deep nets' signals vanish
    "zeros": lambda w, _: nn.init.zeros_(w),  # every unit identical: symmetry is never broken
    "xavier": lambda w, _: nn.init.xavier_uniform_(w),  # Glorot: keeps variance for tanh
    "he": lambda w, _: nn.init.kaiming_normal_(w, nonlinearity="relu"),  # keeps it for ReLU
}


def init_linear_layers(module: nn.Module, scheme: str = "default", std: float = 0.01) -> None:
    """Re-initialise every ``nn.Linear`` in ``module`` with ``scheme`` (see SCHEMES)."""
    initialise = SCHEMES[require_choice("model.net.init", scheme, SCHEMES)]
    if initialise is None:
        return
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            initialise(layer.weight, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
