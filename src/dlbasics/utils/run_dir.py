"""The files of a run dir: metrics.json and the config Hydra saved for the run."""

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError

METRICS_FILE = "metrics.json"


def saved_config_path(run_dir: str | Path) -> Path:
    """Where Hydra keeps a run's composed config (``hydra.output_subdir`` is ``.hydra``)."""
    return Path(run_dir) / ".hydra" / "config.yaml"


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


def read_metrics(run_dir: Path) -> dict[str, Any] | None:
    """A run's metrics.json, or None when the run has not finished."""
    path = Path(run_dir) / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def run_dir_of_checkpoint(ckpt_path: str | Path) -> Path:
    """``<run>/checkpoints/x.ckpt`` → ``<run>``, checking the checkpoint and config exist."""
    ckpt = Path(ckpt_path).expanduser().resolve()
    if not ckpt.is_file():
        raise ConfigError(
            f"ckpt_path={ckpt_path} does not exist; pass the .ckpt file of a run "
            f"(e.g. logs/train/runs/<time>/checkpoints/last.ckpt)"
        )
    run_dir = ckpt.parent.parent
    if not saved_config_path(run_dir).is_file():
        raise ConfigError(
            f"ckpt_path={ckpt_path}: no .hydra/config.yaml in {run_dir}; the "
            f"checkpoint must sit in the checkpoints/ folder of a dlbasics run dir"
        )
    return run_dir


def load_run_config(run_dir: str | Path) -> DictConfig:
    """The config a run was trained with, interpolations left to resolve by the caller."""
    return OmegaConf.load(saved_config_path(run_dir))
