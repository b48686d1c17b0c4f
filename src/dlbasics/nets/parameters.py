"""Which parameters count as weights: the one rule behind L1, weight decay and ‖w‖.

A weight is a parameter with at least two dimensions (a linear layer's matrix,
a convolution's kernel). Biases and the 1-D scale and shift of a norm layer
are not: they set offsets and scales rather than how inputs are combined, so
penalising them only pulls a layer's output towards zero.
"""

from collections.abc import Iterable

from torch import nn


def is_weight(parameter: nn.Parameter) -> bool:
    return parameter.ndim >= 2


def split_weights(
    parameters: Iterable[nn.Parameter],
) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """``(weights, others)`` of the trainable parameters, each in the given order."""
    trainable = [p for p in parameters if p.requires_grad]
    return [p for p in trainable if is_weight(p)], [p for p in trainable if not is_weight(p)]
