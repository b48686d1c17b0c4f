"""Build the DataModule, task, callbacks, loggers and Trainer from a composed config."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from dlbasics.errors import ConfigError
from dlbasics.utils.checkpoint_io import AtomicCheckpointIO
from dlbasics.utils.checkpoints import check_checkpoint
from dlbasics.utils.checks import is_integer
from dlbasics.utils.lean_trainer import cheap_cuda_probe, no_profiler
from dlbasics.utils.precision import require_precision
from dlbasics.utils.run_dir import load_run_config, run_dir_of_checkpoint
from dlbasics.utils.trainer_checks import check_callback_settings, check_trainer


def build_datamodule(cfg: DictConfig) -> pl.LightningDataModule:
    """Instantiate ``cfg.data`` and fill ``cfg.data_info`` (declared in train.yaml) with what
    the DataModule publishes, so model configs interpolate sizes instead of repeating them."""
    datamodule = instantiate(cfg.data)
    with open_dict(cfg):
        cfg.data_info = datamodule.info()
    return datamodule


def check_position_table(cfg: DictConfig) -> None:
    """A net with a position table (``model.net.max_len``, the Transformer's) must hold the
    data's longest sample (``data.max_seq_len``): checked when the model is built, the net
    would otherwise stop at the first batch that long, maybe well into training."""
    net = cfg.model.get("net") if "model" in cfg else None
    max_len = net.get("max_len") if isinstance(net, DictConfig) else None
    max_seq_len = cfg.data.get("max_seq_len") if "data" in cfg else None
    if is_integer(max_len) and is_integer(max_seq_len) and max_len < max_seq_len:
        raise ConfigError(
            f"model.net.max_len={max_len} is shorter than data.max_seq_len={max_seq_len}: the "
            f"Transformer's position table has no row for a sample's tokens past {max_len}. Set "
            f"model.net.max_len={max_seq_len} or more, or data.max_seq_len={max_len} or less"
        )


def build_model(cfg: DictConfig) -> pl.LightningModule:
    """The task of ``cfg.model`` with the optimizer and scheduler groups: a task is generic
    over its optimizer, so no model config repeats one."""
    check_position_table(cfg)
    return instantiate(cfg.model, optimizer=cfg.optimizer, scheduler=cfg.get("scheduler"))


def lightning_error(error: InstantiationException, key: str) -> Exception:
    """A ConfigError for a Lightning constructor's own check (save_top_k, limit_*_batches,
    precision, num_nodes, ...: its message names the argument); other errors as they are."""
    reason = error.__cause__
    if isinstance(reason, (MisconfigurationException, ValueError, TypeError)):
        return ConfigError(f"{key}: {reason}")
    return error


def _instantiate_group(group: DictConfig | None, key: str) -> list[Any]:
    if not group:
        return []
    built = []
    for name, node in group.items():
        if node and "_target_" in node:
            try:
                built.append(instantiate(node))
            except InstantiationException as error:
                raise lightning_error(error, f"{key}.{name}") from error
    return built


def build_trainer(
    cfg: DictConfig, extra_callbacks: Sequence[pl.Callback] = (), **overrides: Any
) -> pl.Trainer:
    """``overrides`` replace Trainer arguments, e.g. ``logger=False`` for prediction;
    ``extra_callbacks`` join the ``callbacks`` group's."""
    check_trainer({**cfg.trainer, **overrides})
    if cfg.trainer.get("precision") is not None:  # Lightning's own ValueError names no key
        require_precision("trainer.precision", cfg.trainer.precision)
    check_callback_settings(cfg.get("callbacks") or {})
    loggers = _instantiate_group(cfg.get("logger"), "logger")
    callbacks = [*_instantiate_group(cfg.get("callbacks"), "callbacks"), *extra_callbacks]
    for callback in callbacks:  # e.g. the HParams summary records the whole run config
        if hasattr(callback, "use_run_config"):
            callback.use_run_config(cfg)
    arguments = {"callbacks": callbacks, "logger": loggers or False, **overrides}
    if "plugins" not in cfg.trainer and "plugins" not in overrides:
        arguments["plugins"] = [AtomicCheckpointIO()]  # no truncated file where a good one was
    if cfg.trainer.get("profiler") is None and "profiler" not in overrides:
        arguments["profiler"] = no_profiler()  # Lightning's default costs ~1 µs per hook
    cheap_cuda_probe()  # before any optimizer step asks whether CUDA is there
    try:
        return instantiate(cfg.trainer, **arguments)
    except InstantiationException as error:
        raise lightning_error(error, "trainer") from error


def reuse_saved_vocabulary(run_cfg: DictConfig, run_dir: Path) -> None:
    """A text run saved its vocabulary (``data.save_vocab``, in its run dir): eval and predict
    read the token ids from that file instead of rebuilding them from the data, so the ids
    are the ones the model was trained on even if the training files have changed since."""
    data = OmegaConf.to_container(run_cfg.data, resolve=False) if "data" in run_cfg else {}
    if "vocab_path" not in data or data["vocab_path"] or not data.get("save_vocab"):
        return
    # the file name only: save_vocab points into the run dir through ${paths.output_dir}
    saved = run_dir / Path(str(data["save_vocab"])).name
    if not saved.is_file():
        raise ConfigError(
            f"{run_dir} was trained on text but holds no {saved.name}; pass "
            f"data.vocab_path=<the vocab.json its training run wrote>"
        )
    run_cfg.data.vocab_path = str(saved)


def run_config_for(cfg: DictConfig) -> DictConfig:
    """The config of the run that wrote ``cfg.ckpt_path``, writing into this command's run
    dir, on one device so no sample is duplicated by a distributed sampler's padding. The
    run's data dir is kept unless ``data_dir=`` is given."""
    run_dir = run_dir_of_checkpoint(cfg.ckpt_path)
    run_cfg = load_run_config(run_dir)
    reuse_saved_vocabulary(run_cfg, run_dir)
    run_cfg.paths.log_dir = cfg.paths.log_dir
    run_cfg.paths.output_dir = cfg.paths.output_dir
    if cfg.get("data_dir"):
        run_cfg.paths.data_dir = cfg.data_dir
    return OmegaConf.merge(run_cfg, {"trainer": {"devices": 1, "num_nodes": 1, "strategy": "auto"}})


def rebuild_run(
    cfg: DictConfig, **trainer_overrides: Any
) -> tuple[pl.LightningDataModule, pl.LightningModule, pl.Trainer]:
    """DataModule, task and Trainer of a finished run, for eval and predict."""
    run_cfg = run_config_for(cfg)
    pl.seed_everything(run_cfg.seed, workers=True)
    datamodule = build_datamodule(run_cfg)
    model = build_model(run_cfg)
    check_checkpoint(cfg.ckpt_path, model)  # truncated, foreign or another model's file
    return datamodule, model, build_trainer(run_cfg, **trainer_overrides)
