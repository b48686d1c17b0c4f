"""Checks of single config values, each raising one ConfigError that names the key.

Constructors call these on their own arguments, so every value is checked
once, where it is used, before any data is read or any step is taken.
"""

from collections.abc import Iterable
from typing import Any

from dlbasics.errors import ConfigError


def is_integer(value: Any) -> bool:
    """An int that is not a bool (YAML's ``true`` would otherwise pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def require_integer(key: str, value: Any, minimum: int) -> int:
    if not is_integer(value) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def require_positive_integer(key: str, value: Any) -> int:
    if not is_integer(value) or value < 1:
        raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    return value


def require_non_negative(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{key} must be a number >= 0, got {value!r}")
    return float(value)


def require_positive(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{key} must be a number > 0, got {value!r}")
    return float(value)


def require_probability(key: str, value: Any) -> float:
    """A threshold strictly between 0 and 1 (0 or 1 would make every decision the same)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{key} must be in (0, 1), got {value!r}")
    return float(value)


def require_sizes(key: str, values: Any) -> list[int]:
    """Layer widths or channel counts: a list of positive integers (0 units is no layer,
    2.5 would be cut to 2 without a word)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ConfigError(f"{key} must be a list of positive integers, got {values!r}")
    sizes = list(values)
    if not all(is_integer(size) and size >= 1 for size in sizes):
        raise ConfigError(f"{key} must be a list of positive integers, got {sizes!r}")
    return sizes


def require_choice(key: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is unknown; allowed values: {', '.join(allowed)}")
    return value


def require_fraction(key: str, value: object, include_one: bool = False) -> float:
    """A share in ``[0, 1)`` (or ``[0, 1]``): a decay factor of 1 never forgets, a
    smoothing of 1 erases the labels, a momentum of 1 or more never lets go."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (0 <= value < 1 or (include_one and value == 1)):
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ConfigError(f"{key} must be a number in {interval}, got {value!r}")
    return float(value)


def require_dropout(key: str, value: object) -> float:
    """A dropout probability in ``[0, 1)`` (1 would drop everything)."""
    return require_fraction(key, value)


def require_flag(key: str, value: object) -> bool:
    """A true/false switch (a string such as ``"false"`` would be truthy)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value
