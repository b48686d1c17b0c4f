"""The composed config as a tree, shown when a run starts (``extras.print_config``).

Rendered with rich into plain text, then logged once: the console shows it and
Hydra's file handler puts the same text into the run dir's ``<task_name>.log``.
"""

import io
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from dlbasics.utils.config import resolved_where_possible

log = logging.getLogger("dlbasics")

# Groups first, in the order a reader wants them; every other top-level key after them.
FIRST = ("data", "model", "optimizer", "scheduler", "trainer", "callbacks", "logger", "paths")


def config_tree(cfg: DictConfig, first: Iterable[str] = FIRST) -> str:
    """One branch per top-level key, each holding its YAML; returned as plain text."""
    values = resolved_where_possible(cfg)
    order = [key for key in first if key in values]
    order += [key for key in values if key not in order and key != "hydra"]
    tree = Tree("config", guide_style="dim")
    for key in order:
        branch = tree.add(key)
        value = values[key]
        text = OmegaConf.to_yaml(value) if isinstance(value, Mapping) else str(value)
        branch.add(Text(text.rstrip()))
    buffer = io.StringIO()
    Console(file=buffer, width=100, color_system=None).print(tree)
    return buffer.getvalue()


@rank_zero_only  # DDP's other processes compose the same config
def log_config_tree(cfg: DictConfig, enabled: Any = True) -> None:
    if enabled:
        log.info("composed config:\n%s", config_tree(cfg))
