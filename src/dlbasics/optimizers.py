"""Optimizer factories for configs that need more than ``torch.optim.X(params, ...)``."""

from collections.abc import Iterable
from typing import Any

import torch
from hydra.utils import get_class
from torch import nn

from dlbasics.errors import ConfigError


def decay_weights_only(
    params: Iterable[nn.Parameter],
    optimizer: str = "torch.optim.SGD",
    weight_decay: float = 0.0,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """``optimizer`` with ``weight_decay`` on weight matrices only, not on biases.

    This is d2l's weight decay (4.5: ``{"params": net.weight, "weight_decay": wd}``):
    the penalty ``λ/2·‖w‖²`` shrinks the weights, while a bias only shifts the
    output and is left free. Biases (and any other 1-D parameter) are told
    apart from weights by their number of dimensions.
    """
    try:
        optimizer_class = get_class(optimizer)
    except Exception as error:
        raise ConfigError(
            f"model.optimizer.optimizer={optimizer!r} is not an importable optimizer class; "
            "give a full path such as torch.optim.SGD"
        ) from error
    params = [p for p in params if p.requires_grad]
    weights = [p for p in params if p.ndim >= 2]
    others = [p for p in params if p.ndim < 2]
    groups = [{"params": weights, "weight_decay": weight_decay}]
    if others:
        groups.append({"params": others, "weight_decay": 0.0})
    return optimizer_class(groups, **kwargs)


def lbfgs(
    params: Iterable[nn.Parameter], lr: float = 1.0, weight_decay: float = 0.0, **kwargs: Any
) -> torch.optim.Optimizer:
    """``torch.optim.LBFGS`` for small full-batch fits that should reach the least-squares
    solution (NNDL solves them in closed form).

    Model configs carry a ``weight_decay`` key that LBFGS has no argument for;
    it is accepted here and must stay 0.
    """
    if weight_decay:
        raise ConfigError(
            f"model.optimizer.weight_decay={weight_decay}: L-BFGS has no weight decay; set it to "
            "0 or pick another optimizer"
        )
    return torch.optim.LBFGS(params, lr=lr, **kwargs)
