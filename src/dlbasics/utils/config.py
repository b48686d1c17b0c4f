"""Reading composed configs: optional keys, plain-Python copies, the resolved view."""

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


def config_value(cfg: DictConfig, key: str, default: Any = None) -> Any:
    """``OmegaConf.select`` that returns ``default`` for unresolvable interpolations too
    (a saved config read outside the run that wrote it)."""
    try:
        return OmegaConf.select(cfg, key, default=default, throw_on_missing=False)
    except OmegaConfBaseException:
        return default


def plain_config(node: Any) -> Any:
    """A resolved plain-Python copy of a config node, so checkpoints hold no OmegaConf types
    and load with ``torch.load(..., weights_only=True)``."""
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def resolved_where_possible(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain values, resolved; left as written where a value can only be
    resolved inside a Hydra run (``${hydra:...}`` when composed by a test or a script)."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:
        return OmegaConf.to_container(cfg, resolve=False)
