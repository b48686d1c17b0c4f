"""Checks of config values that would otherwise fail late, deep inside torch."""

from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError

Check = tuple[str, Callable[[object], bool], str]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive(value: object) -> bool:
    return _is_number(value) and value > 0


def _non_negative(value: object) -> bool:
    return _is_number(value) and value >= 0


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _epochs(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (value > 0 or value == -1)


CHECKS: list[Check] = [
    ("seed", lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    ("data.batch_size", _positive_int, "a positive integer"),
    ("data.eval_batch_size", _positive_int, "a positive integer"),
    ("data.val_size", lambda v: isinstance(v, int) and v >= 0, "an integer >= 0"),
    ("data.noise", _non_negative, "a number >= 0"),
    ("model.optimizer.lr", _positive, "a number > 0"),
    ("model.optimizer.weight_decay", _non_negative, "a number >= 0"),
    ("model.optimizer.momentum", _non_negative, "a number >= 0"),
    ("model.l1_penalty", _non_negative, "a number >= 0"),
    ("trainer.max_epochs", _epochs, "a positive integer (or -1 for no limit)"),
]


def validate_config(cfg: DictConfig) -> None:
    """Raise one ConfigError naming every bad key, before any data is read."""
    problems = []
    for key, accepts, expected in CHECKS:
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        if value is not None and not accepts(value):
            problems.append(f"{key} must be {expected}, got {value!r}")
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is not None and not Path(ckpt_path).is_file():
        problems.append(f"ckpt_path={ckpt_path} does not exist; pass the path of a .ckpt file")
    if problems:
        raise ConfigError("invalid config: " + "; ".join(problems))
