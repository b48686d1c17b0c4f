"""Weight initialisation schemes for the linear and convolution layers of a net.

Biases start at zero in every scheme except ``default``, which keeps PyTorch's own
initialisation (Kaiming-uniform weights, small uniform biases).
"""

from collections.abc import Callable

from torch import Tensor, nn

from dlbasics.utils.checks import require_choice, require_non_negative


def _normal(weight: Tensor, std: float) -> None:
    nn.init.normal_(weight, mean=0.0, std=std)


SCHEMES: dict[str, Callable[[Tensor, float], object] | None] = {
    "default": None,
    "normal": _normal,  # N(0, std²): std=0.01 makes deep nets' signals vanish
    "zeros": lambda w, _: nn.init.zeros_(w),  # every unit identical: symmetry is never broken
    "xavier": lambda w, _: nn.init.xavier_uniform_(w),  # Glorot: keeps variance for tanh
    "he": lambda w, _: nn.init.kaiming_normal_(w, nonlinearity="relu"),  # keeps it for ReLU
}


# One scheme for the convolutions, another for the linear layers.
PER_LAYER_TYPE: dict[str, dict[type[nn.Module], str]] = {
    "he_xavier": {nn.Conv2d: "he", nn.Linear: "xavier"},  # ReLU convolutions, then the head
}


def init_layers(module: nn.Module, scheme: str = "default", std: float = 0.01) -> None:
    """Re-initialise every ``nn.Linear`` and ``nn.Conv2d`` in ``module`` with ``scheme``
    (see SCHEMES and PER_LAYER_TYPE)."""
    require_choice("model.net.init", scheme, [*SCHEMES, *PER_LAYER_TYPE])
    require_non_negative("model.net.init_std", std)
    for layer in module.modules():
        kind = next((k for k in (nn.Conv2d, nn.Linear) if isinstance(layer, k)), None)
        if kind is None:
            continue
        initialise = SCHEMES[PER_LAYER_TYPE[scheme][kind] if scheme in PER_LAYER_TYPE else scheme]
        if initialise is None:
            continue
        initialise(layer.weight, std)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
