"""``trainer.precision``: a value Lightning accepts, checked before the Trainer is built.

Lightning rejects an unknown precision with a ValueError from inside the Trainer's
constructor, which the entry points cannot tell from a bug; this check raises the one
ConfigError that names the key and the values that work.
"""

from typing import Any

from dlbasics.compat import lightning_precisions
from dlbasics.errors import ConfigError

# What each precision is for; Lightning accepts a few more (lightning_precisions).
COMMON = "32-true (the default), bf16-mixed (CPUs and recent GPUs), 16-mixed (CUDA GPUs)"


def require_precision(key: str, value: Any) -> str | int:
    """``value`` if Lightning accepts it as a precision. Types count: YAML's ``true`` or
    ``32.0`` equal accepted values in Python but are not precisions."""
    if not any(type(value) is type(known) and value == known for known in lightning_precisions()):
        accepted = ", ".join(dict.fromkeys(str(known) for known in lightning_precisions()))
        raise ConfigError(
            f"{key}={value!r} is not a precision Lightning knows; use {COMMON}. On a CPU "
            f"Lightning trains 16-mixed as bf16-mixed, with a warning. Accepted: {accepted}"
        )
    return value
