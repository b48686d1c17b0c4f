"""k-fold cross-validation on the training data of any in-memory DataModule (``cv.folds=k``).

The train and validation splits are pooled and cut into k folds (stratified by
class for classification). Every fold trains a freshly built model (the
textbook's loop reused one model across folds, so later folds started from
weights that had already seen their validation data). The test split is not
touched here: when a CV sweep ends, only the selected configuration is tested
(``dlbasics.training.selection``).

A CV run stopped by a signal continues as any run does (``ckpt_path=last``, the printed
``ckpt_path=<run>/fold_<i>/checkpoints/last.ckpt``, or ``resume=true`` in a sweep): the
folds that finished keep their ``fold_<i>/metrics.json``, the interrupted fold continues
from its ``last.ckpt`` and the folds after it start fresh.
"""

import copy
import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, open_dict
from pytorch_lightning.utilities.rank_zero import rank_zero_only
from torch import Tensor

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset
from dlbasics.errors import ConfigError
from dlbasics.training.continued import LAST_CHECKPOINT, run_of_checkpoint
from dlbasics.training.run import (
    resume_callbacks,
    resume_checkpoint,
    seed_run,
    stop_if_signalled,
)
from dlbasics.utils.checkpoints import check_checkpoint
from dlbasics.utils.config import config_value
from dlbasics.utils.config_tree import log_config_tree
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer
from dlbasics.utils.run_dir import read_metrics, scalar_metrics, write_metrics
from dlbasics.utils.stats import mean_std

log = logging.getLogger("dlbasics")


def cv_folds(cfg: DictConfig) -> int:
    """``cv.folds`` checked: 0 (off) or an integer >= 2."""
    folds = config_value(cfg, "cv.folds", 0) or 0
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 0 or folds == 1:
        raise ConfigError(
            f"cv.folds must be 0 (no cross-validation) or an integer >= 2, got {folds!r}"
        )
    return folds


def fold_indices(targets: Tensor, k: int, seed: int = 0, stratified: bool = False) -> list[Tensor]:
    """k disjoint index sets covering ``range(len(targets))``, sizes differing by at most one.

    Stratified: each class is shuffled and dealt round-robin over the folds,
    continuing where the previous class stopped, so class shares and fold sizes
    both stay balanced.
    """
    total = len(targets)
    if k > total:
        raise ConfigError(f"cv.folds={k} is more than the {total} training samples")
    generator = torch.Generator().manual_seed(seed)
    if not stratified:
        return [part.sort().values for part in torch.randperm(total, generator=generator).chunk(k)]
    fold_of = torch.empty(total, dtype=torch.long)
    dealt = 0
    for label in targets.unique():
        members = (targets == label).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        fold_of[members] = (dealt + torch.arange(len(members))) % k
        dealt += len(members)
    return [(fold_of == fold).nonzero().flatten() for fold in range(k)]


class FoldDataModule(InMemoryDataModule):
    """One fold's train/val sets with the parent's batching and description; its ``setup``
    does nothing so Lightning cannot reload the parent's own splits over the fold."""

    def __init__(
        self, parent: InMemoryDataModule, train: TensorBatchDataset, val: TensorBatchDataset
    ) -> None:
        super().__init__(
            parent.batch_size,
            parent.eval_batch_size,
            parent.num_workers,
            parent.pin_memory,
            parent.train_repeats,
        )
        self.parent = parent
        self.train_set, self.val_set = train, val
        self.num_classes, self.class_names = parent.num_classes, parent.class_names
        self.input_shape = parent.input_shape

    @property
    def num_features(self) -> int:
        return self.parent.num_features

    def setup(self, stage: str | None = None) -> None:
        return None


def pooled_training_data(datamodule: pl.LightningDataModule) -> TensorBatchDataset:
    """Train and validation splits as one set: CV replaces the fixed validation split."""
    if not isinstance(datamodule, InMemoryDataModule):
        raise ConfigError(
            f"cv.folds needs an in-memory DataModule (dlbasics.data.base."
            f"InMemoryDataModule); {type(datamodule).__name__} is not one"
        )
    datamodule.prepare_data()
    datamodule.setup("fit")
    parts = [s for s in (datamodule.train_set, datamodule.val_set) if s is not None and len(s)]
    return TensorBatchDataset(
        torch.cat([s.inputs for s in parts]),
        torch.cat([s.targets for s in parts]),
        parts[0].transform,
    )


def evaluation_transform(datamodule: InMemoryDataModule, pooled: TensorBatchDataset):
    """The transform of the DataModule's evaluation splits: a validation fold is scored as
    the validation split is, without the training split's augmentation."""
    for split in (datamodule.val_set, datamodule.test_set):
        if split is not None:
            return split.transform
    return pooled.transform


def is_classification(datamodule: pl.LightningDataModule, targets: Tensor) -> bool:
    return getattr(datamodule, "num_classes", None) is not None and not targets.is_floating_point()


def fold_config(cfg: DictConfig, fold: int) -> DictConfig:
    """A copy of ``cfg`` whose outputs (checkpoints, TensorBoard) go to ``<run>/fold_<i>``."""
    fold_cfg = copy.deepcopy(cfg)
    with open_dict(fold_cfg):
        fold_cfg.paths.output_dir = str(Path(cfg.paths.output_dir) / f"fold_{fold}")
    return fold_cfg


def average_folds(per_fold: list[dict[str, float]]) -> dict[str, float]:
    """``name`` → mean over folds and ``name_std`` → sample std, for every shared number."""
    record: dict[str, float] = {}
    for name in per_fold[0]:
        values = [fold[name] for fold in per_fold if name in fold]
        mean, std = mean_std(values)
        record[name], record[f"{name}_std"] = mean, std
    return record


def continues_earlier_folds(cfg: DictConfig) -> bool:
    """Whether this CV run continues the one in its own dir: ``ckpt_path`` is ``last`` or a
    fold checkpoint of that run (a CV run trains a fresh model per fold, so no other
    checkpoint can start it)."""
    ckpt_path = resume_checkpoint(cfg)  # checks that the file (or the run's last) exists
    if ckpt_path is None:
        return False
    run_dir = Path(cfg.paths.output_dir).resolve()
    if run_of_checkpoint(ckpt_path) != run_dir:
        raise ConfigError(
            f"ckpt_path={cfg.ckpt_path}: a CV run (cv.folds) trains a fresh model per fold and "
            f"can only continue itself; pass ckpt_path=last or ckpt_path=<run>/fold_<i>/"
            f"{LAST_CHECKPOINT} of the CV run to continue"
        )
    return True


def fit_fold(
    cfg: DictConfig, fold_cfg: DictConfig, fold_data: FoldDataModule, continuing: bool
) -> dict[str, float]:
    """Train the fold ``fold_cfg`` describes (``fold_config``) from fresh weights, or on
    from the ``last.ckpt`` an interrupted run of it left; its validation numbers also go to
    ``fold_<i>/metrics.json``."""
    seed_run(cfg)
    fold_dir = Path(fold_cfg.paths.output_dir)
    model = build_model(fold_cfg)  # a fresh initialisation for every fold
    ckpt_path = fold_dir / LAST_CHECKPOINT if continuing else None
    if ckpt_path is not None and ckpt_path.is_file():
        log.info("%s: continuing from %s", fold_dir.name, ckpt_path)
        check_checkpoint(str(ckpt_path), model)
    else:
        ckpt_path = None
    trainer = build_trainer(fold_cfg, extra_callbacks=resume_callbacks(cfg))
    trainer.fit(model, datamodule=fold_data, ckpt_path=ckpt_path)
    scores = scalar_metrics(trainer.callback_metrics, "val")
    scores["epochs"] = float(trainer.current_epoch)
    if rank_zero_only.rank == 0:
        write_metrics(fold_dir, scores)  # the fold is done, even if a signal came at its end
    stop_if_signalled(trainer)
    return scores


def cross_validate(cfg: DictConfig) -> dict[str, Any]:
    """Train a fresh model on each of ``cv.folds`` folds; metrics.json holds the mean ± std
    of every validation number and the per-fold values under ``cv_folds``."""
    k = cv_folds(cfg)
    continuing = continues_earlier_folds(cfg)
    seed_run(cfg)  # checks the seed before any data is read; every fold seeds again
    started = time.perf_counter()
    datamodule = build_datamodule(cfg)
    log_config_tree(cfg, config_value(cfg, "extras.print_config", True))
    data = pooled_training_data(datamodule)
    stratified = bool(config_value(cfg, "cv.stratified", True))
    stratified = stratified and is_classification(datamodule, data.targets)
    folds = fold_indices(data.targets, k, int(config_value(cfg, "cv.seed", 0)), stratified)
    evaluation = evaluation_transform(datamodule, data)
    per_fold: list[dict[str, float]] = []
    for fold, val_idx in enumerate(folds):
        train_idx = torch.cat([part for i, part in enumerate(folds) if i != fold])
        fold_cfg = fold_config(cfg, fold)
        fold_dir = Path(fold_cfg.paths.output_dir)
        finished = read_metrics(fold_dir)
        if continuing and finished is not None:
            log.info("%s: finished before this run was interrupted", fold_dir.name)
            per_fold.append(finished)
            continue
        fold_data = FoldDataModule(
            datamodule,
            TensorBatchDataset(data.inputs[train_idx], data.targets[train_idx], data.transform),
            TensorBatchDataset(data.inputs[val_idx], data.targets[val_idx], evaluation),
        )
        per_fold.append(fit_fold(cfg, fold_cfg, fold_data, continuing))
        log.info(
            "fold %d/%d (%d train, %d val): %s",
            fold + 1,
            k,
            len(train_idx),
            len(val_idx),
            ", ".join(f"{n}={v:.4f}" for n, v in per_fold[-1].items() if n != "epochs"),
        )
    record: dict[str, Any] = average_folds(per_fold)
    record.update(
        cv_folds=per_fold,
        cv_k=k,
        cv_stratified=stratified,
        epochs=int(per_fold[-1]["epochs"]),
        seconds=round(time.perf_counter() - started, 3),
    )
    record.pop("epochs_std", None)
    if rank_zero_only.rank == 0:
        write_metrics(Path(cfg.paths.output_dir), record)
    return record
