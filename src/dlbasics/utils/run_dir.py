"""Reading and writing the files of a run dir: metrics.json, the saved Hydra config."""

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError

METRICS_FILE = "metrics.json"


def scalar_metrics(metrics: Mapping[str, Any], stage: str) -> dict[str, float]:
    """Plain floats of the ``{stage}/*`` entries of Lightning's callback metrics."""
    prefix = f"{stage}/"
    return {
        name: float(value)
        for name, value in sorted(metrics.items())
        if name.startswith(prefix) and getattr(value, "numel", lambda: 1)() == 1
    }


def write_metrics(run_dir: Path, record: Mapping[str, Any]) -> Path:
    """Write metrics.json; non-finite numbers become null so the file stays valid JSON."""
    clean = {
        key: (None if isinstance(value, float) and not math.isfinite(value) else value)
        for key, value in record.items()
    }
    path = Path(run_dir) / METRICS_FILE
    path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
    return path


def run_dir_of_checkpoint(ckpt_path: str | Path) -> Path:
    """``<run>/checkpoints/x.ckpt`` → ``<run>``, checking the checkpoint and config exist."""
    ckpt = Path(ckpt_path).expanduser().resolve()
    if not ckpt.is_file():
        raise ConfigError(
            f"ckpt_path={ckpt_path} does not exist; pass the .ckpt file of a run "
            f"(e.g. logs/train/runs/<time>/checkpoints/last.ckpt)"
        )
    run_dir = ckpt.parent.parent
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise ConfigError(
            f"ckpt_path={ckpt_path}: no .hydra/config.yaml in {run_dir}; the "
            f"checkpoint must sit in the checkpoints/ folder of a dlbasics run dir"
        )
    return run_dir


def load_run_config(ckpt_path: str | Path) -> DictConfig:
    """The config the checkpoint's run was trained with, interpolations left to resolve here."""
    return OmegaConf.load(run_dir_of_checkpoint(ckpt_path) / ".hydra" / "config.yaml")
