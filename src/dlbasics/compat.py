"""The one place that touches private members of Lightning, TensorBoard, torchmetrics and
Optuna.

Each function wraps a member that has no public equivalent in the versions
pyproject.toml admits, so an upgrade that moves one of them breaks this file
and nothing else.
"""

from collections.abc import Iterable
from typing import get_args

import optuna
from lightning_fabric.plugins.precision.precision import (
    _PRECISION_INPUT_INT,
    _PRECISION_INPUT_STR,
    _PRECISION_INPUT_STR_ALIAS,
)
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.tensorboard import SummaryWriter
from torchmetrics import MetricCollection

__all__ = [
    "UnrepeatedDistributedSampler",  # Lightning uses it for prediction only; not exported
    "file_writer",
    "keep_only",
    "lightning_precisions",
    "logs_graph",
    "optuna_trial",
]


def file_writer(writer: SummaryWriter):
    """The event-file writer behind a SummaryWriter, for summaries that are already built
    (encoded images, HParams sessions): ``add_*`` methods would build them again."""
    return writer._get_file_writer()


def logs_graph(logger: TensorBoardLogger) -> bool:
    """Whether the logger was built with ``log_graph=True`` (it keeps no public flag)."""
    return bool(logger._log_graph)


def keep_only(collection: MetricCollection, names: Iterable[str]) -> None:
    """Remove every metric not in ``names`` (base names, without the stage prefix) and
    regroup the rest: compute groups were formed from the full set, and torchmetrics
    regroups only when metrics are added."""
    names = set(names)
    for name in list(collection.keys(keep_base=True)):
        if name not in names:
            collection.pop(name)
    collection._init_compute_groups()


def optuna_trial(study: optuna.Study, number: int) -> optuna.Trial:
    """The live trial ``number`` of ``study``, for reporting from inside the job that runs
    it: Optuna hands trials out only from ``ask()``, in the sweeper's process."""
    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    return optuna.Trial(study, trial_id)


def lightning_precisions() -> tuple[str | int, ...]:
    """Every value ``Trainer(precision=...)`` accepts: the names (``32-true``, ``bf16-mixed``,
    ...) and the older aliases (32, 16, ``"bf16"``), from Lightning's own type hints."""
    names = get_args(_PRECISION_INPUT_STR) + get_args(_PRECISION_INPUT_STR_ALIAS)
    return names + get_args(_PRECISION_INPUT_INT)
