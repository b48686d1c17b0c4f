"""Shared fixtures: Hydra compose, small generated IDX data, CLI runner, real-data location."""

import os
import pickle
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
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


CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer"]
CIFAR_NAMES += ["dog", "frog", "horse", "ship", "truck"]


def write_cifar_batch(path: Path, images: np.ndarray, labels: list[int]) -> None:
    """One CIFAR-10 python batch: ``images`` (N, 3, 32, 32) uint8 stored as N x 3072 rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {b"batch_label": path.name.encode(), b"labels": list(labels)}
    entry[b"data"] = np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), 3072)
    path.write_bytes(pickle.dumps(entry, protocol=2))


def make_fake_cifar(root: Path, per_batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``root/cifar-10-batches-py`` in the real format, ``per_batch`` images a batch; class c
    lights up row block c of channel c % 3. Image i of the whole set (test last) carries i in
    its first two red pixels, so a test can tell every image apart. Returns the labels."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    written = {}
    for number, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
        labels = rng.integers(0, 10, size=per_batch)
        images = rng.integers(0, 60, size=(per_batch, 3, 32, 32))
        for i, label in enumerate(labels):
            images[i, label % 3, 3 * label : 3 * label + 2, 4:28] = 250
            index = number * per_batch + i
            images[i, 0, 0, :2] = index // 256, index % 256
        write_cifar_batch(folder / name, images, labels.tolist())
        written[name] = labels
    meta = {b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return written


FILLER = ["the", "movie", "plot", "was", "and", "a", "it", "cast", "story", "film"]
SENTIMENT = {"neg": ["bad", "awful", "dull"], "pos": ["good", "great", "fun"]}


def make_fake_imdb(root: Path, per_class: int, seed: int = 0) -> Path:
    """``root/aclImdb`` in the IMDB layout: ``per_class`` reviews in each of train/neg,
    train/pos, test/neg and test/pos (``<i>_<rating>.txt``, as IMDB names them); a review
    is filler words with sentiment words of its class, and a ``<br />`` tag."""
    rng = np.random.default_rng(seed)
    folder = root / "aclImdb"
    for half in ("train", "test"):
        for name, words in SENTIMENT.items():
            (folder / half / name).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                text = rng.choice(FILLER + words, size=int(rng.integers(3, 12))).tolist()
                review = " ".join(text[:2]) + " <br /><br />" + " ".join(text[2:]) + "."
                (folder / half / name / f"{i}_{7 if name == 'pos' else 2}.txt").write_text(review)
    return folder


CHARACTERS = "天地人你我他山水火木日月"


def make_fake_lcqmc(root: Path, samples: int, seed: int = 0) -> Path:
    """``root/lcqmc`` in LCQMC's layout: train.tsv, dev.tsv and test.tsv of ``samples`` lines
    ``text_a <TAB> text_b <TAB> label`` each, two strings of 2 to 6 Chinese characters and a
    random label 0 or 1."""
    rng = random.Random(seed)
    folder = root / "lcqmc"
    folder.mkdir(parents=True, exist_ok=True)

    def text() -> str:
        return "".join(rng.choices(CHARACTERS, k=rng.randint(2, 6)))

    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        lines = [f"{text()}\t{text()}\t{rng.randint(0, 1)}\n" for _ in range(samples)]
        (folder / name).write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.fixture
def fake_data_dir(tmp_path: Path) -> Path:
    """Small generated MNIST and FashionMNIST folders (600 train / 200 test images each),
    a CIFAR-10 folder (20 images in each of its six batches) and an IMDB-layout aclImdb
    folder (10 reviews in each of its four class folders) and an LCQMC-style lcqmc folder (10
    sentence pairs in each of train.tsv, dev.tsv and test.tsv)."""
    root = tmp_path / "data"
    make_fake_idx_set(root, "MNIST", 600, 200, seed=0)
    make_fake_idx_set(root, "FashionMNIST", 600, 200, seed=1)
    make_fake_cifar(root, 20, seed=2)
    make_fake_imdb(root, 10, seed=3)
    make_fake_lcqmc(root, 10, seed=4)
    return root


@pytest.fixture
def real_data_dir() -> Path:
    """The real MNIST/Fashion-MNIST copy named by DLBASICS_DATA_DIR (set by .ci/run)."""
    value = os.environ.get("DLBASICS_DATA_DIR")
    if not value or not (Path(value) / "MNIST" / "raw").is_dir():
        pytest.skip("DLBASICS_DATA_DIR does not point at the MNIST/Fashion-MNIST raw files")
    return Path(value).resolve()


def cli_command(command: str, log_dir: Path, overrides: Sequence[str]) -> list[str]:
    """``python -m dlbasics.<command>`` with the log dir and ``overrides``; Hydra's flags
    (``-m``) go before every override, where its parser expects them."""
    flags = [item for item in overrides if item.startswith("-")]
    rest = [item for item in overrides if not item.startswith("-")]
    return [sys.executable, "-m", f"dlbasics.{command}", *flags, f"paths.log_dir={log_dir}", *rest]


def run_cli(
    command: str, *overrides: str, log_dir: Path, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run ``python -m dlbasics.<command>`` the way a user would, outputs under ``log_dir``."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        cli_command(command, log_dir, overrides),
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_dirs(log_dir: Path, task_name: str = "train") -> list[Path]:
    """Run dirs of ``task_name`` under ``log_dir``, oldest first."""
    return sorted((log_dir / task_name / "runs").glob("*"))


def run_main(
    main: Callable[[], object],
    *args: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture | None = None,
) -> tuple[int, str]:
    """Call a console-script ``main()`` in this process (no import cost) as the shell would:
    its exit code (0 when it returns) and what it wrote to stderr (with ``capsys``)."""
    monkeypatch.setattr(sys, "argv", ["dlbasics", *args])
    GlobalHydra.instance().clear()
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err if capsys is not None else ""


def file_contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes: equal snapshots mean nothing was touched."""
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def bare_trainer(**arguments) -> pl.Trainer:
    """A CPU Trainer with nothing but the loop (no logger, checkpoint, bar or summary);
    ``arguments`` add or replace Trainer arguments."""
    defaults = {
        "accelerator": "cpu",
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    return pl.Trainer(**{**defaults, **arguments})


class SignalAfterLastBatch(pl.Callback):
    """Sends this process SIGUSR1 once its first fit has trained its last batch."""

    def __init__(self) -> None:
        self.sent = False

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.sent:
            self.sent = True
            signal.raise_signal(signal.SIGUSR1)
