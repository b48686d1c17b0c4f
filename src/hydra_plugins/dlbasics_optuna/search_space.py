"""Hydra sweep syntax → Optuna distributions, so search spaces read like grid sweeps:
``choice(a, b)`` / ``a,b`` (categorical), ``range(1, 5)`` (integers),
``interval(1e-4, 1e-1)`` (floats), ``tag(log, interval(...))`` (log scale),
``tag(int, interval(...))`` (integers). A plain value is fixed for every trial."""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep

from dlbasics.errors import ConfigError

if TYPE_CHECKING:  # Hydra imports every plugin at start-up; Optuna loads when a sweep runs
    from optuna.distributions import BaseDistribution


def override_text(value: object) -> str:
    """A list or dict choice as override text (``[256,256]``); Optuna's categorical
    choices must be scalars, and the text goes back into the trial's override."""
    if isinstance(value, list):
        return "[" + ",".join(override_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{override_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def to_distribution(override: Override) -> "BaseDistribution":
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    key = override.get_key_element()
    if isinstance(value, ChoiceSweep):
        choices = [override_text(v) if isinstance(v, (list, dict)) else v for v in value.list]
        return CategoricalDistribution(choices)
    if isinstance(value, RangeSweep):
        if value.shuffle:
            raise ConfigError(f"hydra.sweeper.params.{key}: shuffle() has no meaning for Optuna")
        start, stop, step = value.start, value.stop, value.step
        if all(isinstance(v, int) for v in (start, stop, step)):
            return IntDistribution(int(start), int(stop) - 1, step=int(step))
        return CategoricalDistribution(list(override.sweep_iterator()))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if "int" in value.tags or (isinstance(value.start, int) and isinstance(value.end, int)):
            return IntDistribution(int(value.start), int(value.end), log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    raise ConfigError(
        f"hydra.sweeper.params.{key}={override.input_line}: use choice(), "
        f"range() or interval() (optionally tag(log, ...))"
    )


def parse_space(
    params: Mapping[str, str], arguments: list[str]
) -> tuple[dict[str, "BaseDistribution"], list[str]]:
    """Search space from ``params`` and command-line sweeps; fixed overrides pass through."""
    lines = [f"{k}={v}" for k, v in params.items()] + list(arguments)
    space: dict[str, BaseDistribution] = {}
    fixed: list[str] = []
    for override in OverridesParser.create().parse_overrides(lines):
        if override.is_sweep_override():
            space[override.get_key_element()] = to_distribution(override)
        else:
            fixed.append(override.input_line or "")
    if not space:
        raise ConfigError(
            "the Optuna sweep has no search space: set hydra.sweeper.params "
            "(e.g. optimizer.lr: tag(log, interval(1e-3, 1))) or pass a "
            "sweep on the command line"
        )
    return space, fixed
