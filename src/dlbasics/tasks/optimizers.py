"""Optimizers and schedulers of a task: built from the ``optimizer`` and ``scheduler``
config groups and checked once, when the task is built, by their own constructors.

``decay_weights_only`` is the one factory of ours (``optimizer=sgd_weights_only_decay``).
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from torch import nn

from dlbasics.errors import ConfigError, DlbasicsError
from dlbasics.nets.parameters import split_weights
from dlbasics.utils.checks import (
    require_choice,
    require_fraction,
    require_integer,
    require_non_negative,
    require_positive,
    require_positive_integer,
)


def decay_weights_only(
    params: Iterable[nn.Parameter],
    optimizer: str = "torch.optim.SGD",
    weight_decay: float = 0.0,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """``optimizer`` with ``weight_decay`` on the weights only (``nets.parameters``), not on
    biases or norm scales.

    This is d2l's weight decay (4.5: ``{"params": net.weight, "weight_decay": wd}``):
    the penalty ``λ/2·‖w‖²`` shrinks the weights, while a bias only shifts the
    output and is left free.
    """
    try:
        optimizer_class = get_class(optimizer)
    except Exception as error:
        raise ConfigError(
            f"optimizer.optimizer={optimizer!r} is not an importable optimizer class; "
            "give a full path such as torch.optim.SGD"
        ) from error
    weights, others = split_weights(params)
    groups = [{"params": weights, "weight_decay": weight_decay}]
    if others:
        groups.append({"params": others, "weight_decay": 0.0})
    return optimizer_class(groups, **kwargs)


OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


def _count(key: str, value: Any) -> int:
    return require_integer(key, value, minimum=0)


# Values torch's constructors take although they train nothing or diverge: lr=0 never moves,
# momentum >= 1 never forgets (and grows), dampening 1 keeps the gradient out of the buffer,
# RMSprop's alpha 1 never averages g², LBFGS with no iterations takes no step; and weight
# decay given per group (optimizer=sgd_weights_only_decay) is not checked by torch at all.
OPTIMIZER_RANGES: dict[str, Callable[[str, Any], Any]] = {
    "lr": require_positive,
    "momentum": require_fraction,
    "dampening": require_fraction,
    "alpha": require_fraction,
    "weight_decay": require_non_negative,
    "max_iter": require_positive_integer,
    "history_size": require_positive_integer,
}
# torch's schedulers check only ReduceLROnPlateau's factor < 1: a gamma <= 0 or a factor 0
# sets the rate to 0 or flips its sign, step_size or T_max 0 divides by zero at the first
# step, a negative patience, threshold, cooldown or floor is no setting at all.
SCHEDULER_RANGES: dict[str, Callable[[str, Any], Any]] = {
    "gamma": require_positive,
    "factor": require_positive,
    "step_size": require_positive_integer,
    "T_max": require_positive_integer,
    "eta_min": require_non_negative,
    "min_lr": require_non_negative,
    "patience": _count,
    "cooldown": _count,
    "threshold": require_non_negative,
}


def check_ranges(spec: Any, key: str, ranges: Mapping[str, Callable[[str, Any], Any]]) -> None:
    """Each setting of ``spec`` (a config or a partial) named in ``ranges``, checked by its
    ``require_*`` (a list, e.g. one floor per parameter group, is left to torch)."""
    values = spec if isinstance(spec, Mapping) else getattr(spec, "keywords", {})
    for name, require in ranges.items():
        value = values.get(name)
        if value is not None and not isinstance(value, (list, tuple)):
            require(f"{key}.{name}", value)


SCHEDULER_KEYS = ("scheduler", "interval", "frequency")


def settings_text(spec: Any, key: str) -> str:
    """``optimizer.lr=0.1, optimizer.momentum=0.9`` from a config or a partial."""
    values = spec if isinstance(spec, Mapping) else getattr(spec, "keywords", {})
    return ", ".join(f"{key}.{k}={v!r}" for k, v in values.items() if not str(k).startswith("_"))


def built(spec: Any, key: str) -> Any:
    """``spec`` itself, or what its ``_target_`` config builds (a partial for factories)."""
    if not isinstance(spec, Mapping):
        return spec
    if "_target_" not in spec:
        raise ConfigError(f"{key} needs a _target_ naming the class or function to build")
    try:
        return instantiate(spec)
    except InstantiationException as error:
        raise ConfigError(f"{key}: {error}") from error


def probe_parameters() -> list[nn.Parameter]:
    """A weight and a bias, so factories that split them see both kinds."""
    return [nn.Parameter(torch.zeros(1, 1)), nn.Parameter(torch.zeros(1))]


def checked_optimizer(spec: Any, key: str = "optimizer") -> OptimizerFactory:
    """The optimizer factory of ``spec``, tried once on probe parameters so a bad value
    fails when the task is built, with the constructor's own reason and the settings."""
    factory = built(spec, key)
    try:
        factory(probe_parameters())
    except DlbasicsError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"invalid {key} settings ({settings_text(spec, key)}): {error}"
        ) from error
    check_ranges(spec, key, OPTIMIZER_RANGES)  # what torch's constructor let through
    return factory


def checked_scheduler(spec: Any, optimizer: OptimizerFactory, key: str = "scheduler") -> dict:
    """``{"scheduler": factory, "interval": ..., "frequency": ...}`` from a scheduler group
    config; empty when ``spec`` is None or empty (no scheduler)."""
    if not spec:
        return {}
    unknown = sorted(set(spec) - set(SCHEDULER_KEYS))
    if unknown:
        raise ConfigError(
            f"{key}: unknown key(s) {', '.join(unknown)}; allowed: scheduler, interval, frequency"
        )
    factory = built(spec["scheduler"], f"{key}.scheduler")
    interval = require_choice(f"{key}.interval", spec.get("interval", "epoch"), ("epoch", "step"))
    frequency = require_positive_integer(f"{key}.frequency", spec.get("frequency", 1))
    try:
        factory(optimizer(probe_parameters()))
    except DlbasicsError:
        raise
    except (ValueError, TypeError) as error:
        text = settings_text(spec["scheduler"], f"{key}.scheduler")
        raise ConfigError(f"invalid {key} settings ({text}): {error}") from error
    check_ranges(spec["scheduler"], f"{key}.scheduler", SCHEDULER_RANGES)
    return {"scheduler": factory, "interval": interval, "frequency": frequency}
