"""The one place that touches private members of Lightning, TensorBoard, torchmetrics and
Optuna.

Each function wraps a member that has no public equivalent in the versions
pyproject.toml admits, so an upgrade that moves one of them breaks this file
and nothing else.
"""

import functools
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from lightning_fabric.plugins.precision.precision import (
    _PRECISION_INPUT_INT,
    _PRECISION_INPUT_STR,
    _PRECISION_INPUT_STR_ALIAS,
)
from lightning_fabric.strategies.launchers.subprocess_script import _ChildProcessObserver
from omegaconf import OmegaConf, read_write
from pytorch_lightning import Callback
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
from pytorch_lightning.trainer import call as lightning_call
from torch.utils.tensorboard import SummaryWriter
from torchmetrics import Metric, MetricCollection

log = logging.getLogger("dlbasics")

if TYPE_CHECKING:  # a run that sweeps nothing never loads Optuna (and sqlite3 with it)
    import optuna

__all__ = [
    "StepMetric",
    "UnrepeatedDistributedSampler",  # Lightning uses it for prediction only; not exported
    "ddp_children_run_this_job",
    "file_writer",
    "keep_only",
    "lightning_precisions",
    "logs_graph",
    "optuna_trial",
    "skip_unimplemented_callback_hooks",
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


class StepMetric(Metric):
    """A torchmetrics Metric updated on every training step, whose ``update`` keeps only
    the bookkeeping of torchmetrics' update wrapper: the stale ``compute`` cache dropped and
    the update counted.

    The wrapper also writes both through nn.Module.__setattr__, enters a grad-mode context
    and moves list states to the CPU (``compute_on_cpu``), which together cost a small
    model's step as much as the update itself. Only for metrics whose states are tensors
    and whose update needs no gradient (counts and sums of detached values); torch's own
    error names a device mismatch.
    """

    def _wrap_update(self, update: Callable) -> Callable:
        @functools.wraps(update)
        def counted_update(*args, **kwargs) -> None:
            attributes = self.__dict__  # where nn.Module.__setattr__ puts plain values
            attributes["_computed"] = None
            attributes["_update_count"] += 1
            update(*args, **kwargs)

        return counted_update


def implements_hook(callback: Callback, hook_name: str) -> bool:
    """Whether ``callback`` does something in ``hook_name``: its class overrides
    Callback's empty method, or the instance carries its own (a wrapper, say)."""
    inherited = getattr(type(callback), hook_name, None) is getattr(Callback, hook_name, None)
    return not inherited or hook_name in vars(callback)


def skip_unimplemented_callback_hooks(applies: Callable[[Any], bool]) -> None:
    """Let Lightning skip a callback hook that no callback implements, for the Trainers
    ``applies`` accepts (once per process; later calls change nothing).

    Lightning calls every hook on every callback: six per training step, each through a
    profiling context and an f-string naming the callback, about 1.8 µs per callback even
    when the method is Callback's empty one. Most of the default callbacks implement none
    of the step hooks between a batch's start and end. A hook that some callback
    implements, and the calls that pick the monitoring callbacks, go to Lightning's own
    dispatch unchanged, so the order and arguments of every call that does something stay
    Lightning's.
    """
    original = lightning_call._call_callback_hooks
    if getattr(original, "skips_unimplemented", False):
        return

    @functools.wraps(original)
    def call_callback_hooks(trainer: Any, hook_name: str, *args: Any, **kwargs: Any) -> None:
        if (
            applies(trainer)
            and kwargs.get("monitoring_callbacks") is None
            and not any(implements_hook(callback, hook_name) for callback in trainer.callbacks)
        ):
            return
        original(trainer, hook_name, *args, **kwargs)

    call_callback_hooks.skips_unimplemented = True
    lightning_call._call_callback_hooks = call_callback_hooks


def optuna_trial(study: "optuna.Study", number: int) -> "optuna.Trial":
    """The live trial ``number`` of ``study``, for reporting from inside the job that runs
    it: Optuna hands trials out only from ``ask()``, in the sweeper's process."""
    import optuna

    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    return optuna.Trial(study, trial_id)


def lightning_precisions() -> tuple[str | int, ...]:
    """Every value ``Trainer(precision=...)`` accepts: the names (``32-true``, ``bf16-mixed``,
    ...) and the older aliases (32, 16, ``"bf16"``), from Lightning's own type hints."""
    names = get_args(_PRECISION_INPUT_STR) + get_args(_PRECISION_INPUT_STR_ALIAS)
    return names + get_args(_PRECISION_INPUT_INT)


# Hydra flags that take their value as the next command-line word
HYDRA_FLAGS_WITH_VALUE = {"-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir"}
MULTIRUN_FLAGS = {"-m", "--multirun"}
# what Lightning's DDP launcher leaves in os.environ; a second job that finds LOCAL_RANK
# there takes itself for a child process and waits for a rank 0 that never comes
LAUNCHER_ENVIRONMENT = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
CHILD_EXIT_WAIT_S = 60  # how long a finished job's DDP children get to exit


def reap_ddp_children() -> list[int]:
    """Wait for the DDP child processes Lightning started in this process, stop the threads
    that watch them and return their exit codes.

    Lightning's child-process observer polls every 5 s for the life of the process and
    SIGKILLs it when a child has exited with a non-zero code. In a multirun the process
    lives on after the job, so a rank that fails on its way out (after the job's results
    are written) would kill the sweep in a later job or in its summary."""
    codes = []
    for thread in threading.enumerate():
        if not isinstance(thread, _ChildProcessObserver):
            continue
        # emptied first: an observer waking while a failed child is reaped finds no child
        children, thread._child_processes = thread._child_processes, []
        for child in children:
            try:
                codes.append(child.wait(timeout=CHILD_EXIT_WAIT_S))
            except subprocess.TimeoutExpired:
                child.kill()
                codes.append(child.wait())
        thread._finished = True
    return codes


def hydra_flags(argv: Sequence[str]) -> list[str]:
    """The Hydra flags of a command line (config path/name/dir), without ``-m`` and overrides."""
    flags, words = [], iter(argv)
    for word in words:
        if word in HYDRA_FLAGS_WITH_VALUE:
            flags += [word, next(words, "")]
        elif word.startswith("-") and word not in MULTIRUN_FLAGS:
            flags.append(word)
    return flags


@contextmanager
def ddp_children_run_this_job(job_dir: str | Path, overrides: Sequence[str]) -> Iterator[None]:
    """Make Lightning's DDP processes of a multirun job run that job, and only it.

    Lightning starts the other processes by re-running ``sys.argv`` with
    ``hydra.run.dir=<HydraConfig run.dir>`` appended (``_hydra_subprocess_cmd``); under
    ``-m`` that re-runs the whole sweep from every child. For the length of one job the
    command line is the job's own overrides and ``run.dir`` is the job's dir, so each
    child is a single run of this job in this job's dir. Afterwards the process group and
    the launcher's environment variables are cleared, so the next job of the sweep
    starts its own processes.
    """
    saved_argv = sys.argv[:]
    saved_environment = {name: os.environ.get(name) for name in LAUNCHER_ENVIRONMENT}
    hydra = HydraConfig.get()
    saved_run_dir = OmegaConf.to_container(hydra.run, resolve=False).get("dir")  # unresolved
    # hydra.mode=RUN: a config may set MULTIRUN itself (hparams_search=optuna does)
    job = [item for item in overrides if not item.startswith("hydra.mode=")]
    sys.argv = [sys.argv[0], *hydra_flags(sys.argv[1:]), *job, "hydra.mode=RUN"]
    with read_write(hydra.run):
        hydra.run.dir = str(job_dir)
    try:
        yield
    finally:
        failed = [code for code in reap_ddp_children() if code != 0]
        if failed:
            log.warning("a DDP rank of %s exited with %s after the job", job_dir, failed)
        sys.argv = saved_argv
        with read_write(hydra.run):
            hydra.run.dir = saved_run_dir
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
