"""Shared fixtures: Hydra compose, small generated IDX data, CLI runner, real-data location."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

import dlbasics.sweeps
import dlbasics.utils.resolvers  # noqa: F401  (registers ${pid:})
from dlbasics.utils.cli import CONFIG_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def compose_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose ``conf/<name>.yaml`` with overrides; outputs go to ``tmp_path``."""

    def _compose(overrides: list[str] | None = None, name: str = "train") -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose(config_name=name, overrides=overrides or [])
        with open_dict(cfg):
            cfg.paths.log_dir = str(tmp_path)
            cfg.paths.output_dir = str(tmp_path)
        return cfg

    yield _compose
    GlobalHydra.instance().clear()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an unsigned-byte IDX file (the MNIST format): magic, big-endian dims, data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_fake_idx_set(root: Path, folder: str, n_train: int, n_test: int, seed: int = 0) -> None:
    """A learnable stand-in for MNIST: class c lights up row block c of the image, plus noise."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n)
        images = rng.integers(0, 60, size=(n, 28, 28))
        for i, label in enumerate(labels):
            images[i, 2 * label + 4 : 2 * label + 6, 4:24] = 250
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", labels)


@pytest.fixture
def fake_data_dir(tmp_path: Path) -> Path:
    """Small generated MNIST and FashionMNIST folders (600 train / 200 test images each)."""
    root = tmp_path / "data"
    make_fake_idx_set(root, "MNIST", 600, 200, seed=0)
    make_fake_idx_set(root, "FashionMNIST", 600, 200, seed=1)
    return root


@pytest.fixture
def real_data_dir() -> Path:
    """The real MNIST/Fashion-MNIST copy named by DLBASICS_DATA_DIR (set by .ci/run)."""
    value = os.environ.get("DLBASICS_DATA_DIR")
    if not value or not (Path(value) / "MNIST" / "raw").is_dir():
        pytest.skip("DLBASICS_DATA_DIR does not point at the MNIST/Fashion-MNIST raw files")
    return Path(value).resolve()


def run_cli(
    command: str, *overrides: str, log_dir: Path, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run ``python -m dlbasics.<command>`` the way a user would, outputs under ``log_dir``."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", f"dlbasics.{command}", f"paths.log_dir={log_dir}", *overrides],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_dirs(log_dir: Path, task_name: str = "train") -> list[Path]:
    """Run dirs of ``task_name`` under ``log_dir``, oldest first."""
    return sorted((log_dir / task_name / "runs").glob("*"))
