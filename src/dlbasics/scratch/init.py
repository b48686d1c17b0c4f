"""Initial weights of a scratch linear layer, each scheme written as its formula.

``fan_in`` and ``fan_out`` are the layer's input and output sizes. Biases start at 0,
except in ``torch_default``, which reproduces ``torch.nn.Linear``'s own initialisation
draw for draw, so a scratch net and its framework twin built with the same seed start
from the same weights.
"""

import math

import torch
from torch import Tensor

from dlbasics.utils.checks import require_choice, require_non_negative


def _uniform(shape: tuple[int, ...], bound: float) -> Tensor:
    return torch.empty(shape).uniform_(-bound, bound)


def initialise(
    scheme: str, fan_in: int, fan_out: int, scale: float = 0.01
) -> tuple[Tensor, Tensor]:
    """``(weight of shape (fan_out, fan_in), bias of shape (fan_out,))``.

    - ``normal``: N(0, scale²); ``uniform``: U(−scale, scale);
    - ``xavier_normal``: N(0, 2 / (fan_in + fan_out)); ``xavier_uniform``: U(±√(6 / (fan_in +
      fan_out))): both keep the variance of activations and gradients through a layer;
    - ``he``: N(0, 2 / fan_in), the variance ReLU halves;
    - ``zeros``: every unit alike (symmetry is never broken);
    - ``torch_default``: U(±1/√fan_in) for weights and biases, as torch computes it.
    """
    require_choice("model.net.init", scheme, SCHEMES)
    require_non_negative("model.net.init_scale", scale)
    shape, bias = (fan_out, fan_in), torch.zeros(fan_out)
    if scheme == "torch_default":  # kaiming_uniform_(a=√5), then the bias, in that order
        gain = math.sqrt(2.0 / (1 + 5))
        weight = _uniform(shape, math.sqrt(3.0) * gain / math.sqrt(fan_in))
        return weight, _uniform((fan_out,), 1 / math.sqrt(fan_in))
    if scheme == "normal":
        return scale * torch.randn(shape), bias
    if scheme == "uniform":
        return _uniform(shape, scale), bias
    if scheme == "xavier_normal":
        return math.sqrt(2.0 / (fan_in + fan_out)) * torch.randn(shape), bias
    if scheme == "xavier_uniform":
        return _uniform(shape, math.sqrt(6.0 / (fan_in + fan_out))), bias
    if scheme == "he":
        return math.sqrt(2.0 / fan_in) * torch.randn(shape), bias
    return torch.zeros(shape), bias


SCHEMES = ("torch_default", "normal", "uniform", "xavier_normal", "xavier_uniform", "he", "zeros")
