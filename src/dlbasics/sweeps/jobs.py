"""Bookkeeping for one job of a multirun: skip it when done, record it when it fails.

A crashed job must not end the sweep: Hydra's basic sweeper re-raises a job's
exception after its batch, and ``SystemExit`` (how the entry points report user
errors) escapes at once. In a multirun the job's error is therefore written to
``job.json`` in its dir and the sweep goes on; a single run keeps failing loudly.

A job stopped by a signal (callbacks/interruption.py) is different: the process is
asked to end, so it records ``interrupted`` with the step and checkpoint in
``job.json``, prints how to resume and exits 128 + the signal. A multirun job whose dir
holds an interrupted (or killed) run and its ``checkpoints/last.ckpt`` continues from
that checkpoint when it runs again (``resume=true``, or a requeued SLURM job).
"""

import functools
import json
import logging
import math
import os
import socket
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from dlbasics.callbacks.interruption import TrainingInterrupted
from dlbasics.compat import ddp_children_run_this_job
from dlbasics.errors import ConfigError
from dlbasics.sweeps.launchers import check_launcher
from dlbasics.sweeps.resume import sweep_key
from dlbasics.training.continued import LAST, run_checkpoint
from dlbasics.utils.cli import find_user_error
from dlbasics.utils.config import config_value
from dlbasics.utils.run_dir import read_metrics

log = logging.getLogger("dlbasics")

JOB_FILE = "job.json"
COMPLETED, FAILED, PRUNED, STARTED = "completed", "failed", "pruned", "started"
RUNNING, INTERRUPTED = "running", "interrupted"  # how a job.json still saying STARTED reads


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def write_job_status(
    job_dir: Path, status: str, overrides: list[str], error: str = "", **details: Any
) -> Path:
    """``job.json``; the process id and host let a reader tell a running job from a dead one.
    Only the first process writes it (under DDP every process runs the job)."""
    path = Path(job_dir) / JOB_FILE
    if rank_zero_only.rank != 0:
        return path
    record = dict(status=status, overrides=overrides, error=error, pid=os.getpid(), **details)
    path.write_text(json.dumps({**record, "host": socket.gethostname()}, indent=2) + "\n")
    return path


def process_alive(pid: Any) -> bool:
    """Signal 0 checks that the process exists without touching it (POSIX)."""
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def read_job_status(job_dir: Path) -> dict[str, Any]:
    """The recorded status; a job that started and never ended is ``running`` while its
    process lives (on this host) and ``interrupted`` once it is gone."""
    path = Path(job_dir) / JOB_FILE
    record = json.loads(path.read_text()) if path.is_file() else {}
    if record.get("status") == STARTED:
        here = record.get("host") == socket.gethostname()
        record["status"] = RUNNING if here and process_alive(record.get("pid")) else INTERRUPTED
    return record


def finished_record(job_dir: Path, overrides: list[str]) -> dict[str, Any] | None:
    """metrics.json of an earlier run of the same job, or None when it has to run."""
    record = read_metrics(job_dir)
    earlier = read_job_status(job_dir).get("overrides")
    if record is not None and earlier is not None and sweep_key(earlier) != sweep_key(overrides):
        log.warning(
            "%s holds a finished job with other overrides (%s); running again",
            job_dir,
            " ".join(earlier),
        )
        return None
    return record


def is_pruned(error: BaseException) -> bool:
    """An Optuna pruning. Optuna is looked up in sys.modules, not imported: importing it
    would cost every run a few tenths of a second, and only an Optuna sweep, which has
    imported it, can prune."""
    optuna = sys.modules.get("optuna")
    return optuna is not None and isinstance(error, optuna.TrialPruned)


def describe_error(error: BaseException) -> str:
    user_error = find_user_error(error)
    return str(user_error) if user_error is not None else f"{type(error).__name__}: {error}"


def returned_metric(record: dict[str, Any] | None, cfg: DictConfig) -> float | None:
    """The number a sweeper optimises; None when missing or not finite (a failed trial)."""
    name = cfg.get("optimized_metric")
    value = (record or {}).get(name) if name else None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def check_sweep_figures(cfg: DictConfig, overrides: list[str]) -> None:
    """``sweep_figures.against`` must name a key this job's overrides set, or the figure at
    the sweep's end would fail only after every job has run. Raised before the first job
    starts, it stops the sweep with nothing run."""
    against = config_value(cfg, "sweep_figures.against")
    keys = {item.partition("=")[0].lstrip("+~") for item in overrides}
    if against and against not in keys:
        raise ConfigError(
            f"sweep_figures.against={against}: the sweep does not vary {against} (its jobs "
            f"set {', '.join(sorted(keys))}); sweep it, e.g. {against}=5,10,15, or set "
            f"sweep_figures.against=null"
        )


def continued_checkpoint(job_dir: Path, cfg: DictConfig, overrides: list[str]) -> str | None:
    """The checkpoint a multirun job continues from: its own ``checkpoints/last.ckpt`` (a
    CV job's: its newest fold's) when an earlier run of the same job was interrupted or
    killed (``ckpt_path=last`` asks for the same, and starts fresh when there is none);
    else ``cfg.ckpt_path``."""
    own = run_checkpoint(job_dir)
    earlier = read_job_status(job_dir)
    same_job = sweep_key(earlier.get("overrides") or []) == sweep_key(overrides)
    if same_job and earlier.get("status") == INTERRUPTED and own is not None:
        log.info("continuing %s from %s", job_dir, own)
        return str(own)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path == LAST:
        return str(own) if own is not None else None
    return ckpt_path


def job_overrides(overrides: list[str], ckpt_path: str | None) -> list[str]:
    """The overrides that run this job again, resuming from ``ckpt_path`` if given."""
    kept = [item for item in overrides if not item.lstrip("+~").startswith("ckpt_path=")]
    return [*kept, f"ckpt_path={ckpt_path}"] if ckpt_path else kept


def stop_on_signal(stop: TrainingInterrupted, run_dir: Path, overrides: list[str]) -> NoReturn:
    """Record the interruption, say how to resume, hand the signal to the handler that was
    there before training (e.g. submitit's requeue), and exit 128 + the signal's number.
    Processes other than the first end quietly."""
    if rank_zero_only.rank != 0:
        raise SystemExit(0)
    write_job_status(
        run_dir,
        INTERRUPTED,
        overrides,
        str(stop),
        signal=stop.signal_name,
        step=stop.step,
        epoch=stop.epoch,
        checkpoint=stop.checkpoint,
    )
    if in_multirun():
        how = "run the sweep's command again with resume=true"
    else:
        how = "dlbasics-train " + " ".join(job_overrides(overrides, stop.checkpoint))
    message = f"interrupted by {stop}; to continue: {how}"
    log.warning(message)
    print(message, file=sys.stderr, flush=True)
    stop.forward_signal()
    raise SystemExit(stop.exit_code)


def single_run(task: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig) -> dict[str, Any]:
    """One run outside a multirun; an interrupted run gets a job.json saying so, which its
    continuation turns into ``completed``."""
    run_dir = Path(cfg.paths.output_dir)
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    try:
        record = task(cfg)
    except TrainingInterrupted as stop:
        stop_on_signal(stop, run_dir, overrides)
    if (run_dir / JOB_FILE).is_file():
        write_job_status(run_dir, COMPLETED, overrides)
    return record


def sweep_job(task: Callable[[DictConfig], dict[str, Any]]) -> Callable[[DictConfig], Any]:
    """Wrap ``train(cfg) -> record`` into a Hydra task returning ``cfg.optimized_metric``.

    In a multirun: a job whose ``metrics.json`` exists (same overrides) is skipped
    and its stored metric returned; an interrupted one continues from its checkpoint;
    an exception marks the job ``failed`` (or ``pruned`` for an Optuna pruning) in
    ``job.json`` and returns None. A multi-process job runs its processes on this job
    alone (compat.ddp_children_run_this_job).
    """

    @functools.wraps(task)
    def wrapper(cfg: DictConfig) -> float | None:
        if not in_multirun():
            return returned_metric(single_run(task, cfg), cfg)
        job_dir = Path(HydraConfig.get().runtime.output_dir)
        overrides = list(HydraConfig.get().overrides.task)
        check_sweep_figures(cfg, overrides)
        record = finished_record(job_dir, overrides)
        if record is not None:
            log.info("skipping %s: its metrics.json already exists", job_dir)
            return returned_metric(record, cfg)
        ckpt_path = continued_checkpoint(job_dir, cfg, overrides)
        with open_dict(cfg):
            cfg.ckpt_path = ckpt_path
        write_job_status(job_dir, STARTED, overrides)  # stays so if the process is killed
        try:
            check_launcher(cfg)
            with ddp_children_run_this_job(job_dir, job_overrides(overrides, ckpt_path)):
                record = task(cfg)
        except TrainingInterrupted as stop:
            stop_on_signal(stop, job_dir, overrides)
        except Exception as error:
            status, message = (
                PRUNED if is_pruned(error) else FAILED,
                describe_error(error),
            )
            if status == PRUNED:
                log.info("job %s pruned: %s", job_dir.name, message)
            else:
                log.error("job %s failed: %s\n%s", job_dir.name, message, traceback.format_exc())
            write_job_status(job_dir, status, overrides, message)
            return None
        write_job_status(job_dir, COMPLETED, overrides)
        return returned_metric(record, cfg)

    return wrapper
