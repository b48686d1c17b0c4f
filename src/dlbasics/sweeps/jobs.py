"""Bookkeeping for one job of a multirun: skip it when done, record it when it fails.

A crashed job must not end the sweep: Hydra's basic sweeper re-raises a job's
exception after its batch, and ``SystemExit`` (how the entry points report user
errors) escapes at once. In a multirun the job's error is therefore written to
``job.json`` in its dir and the sweep goes on; a single run keeps failing loudly.
"""

import functools
import json
import logging
import math
import os
import socket
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from dlbasics.errors import ConfigError
from dlbasics.sweeps.resume import sweep_key
from dlbasics.utils.cli import find_user_error
from dlbasics.utils.config import config_value
from dlbasics.utils.run_dir import read_metrics

log = logging.getLogger("dlbasics")

JOB_FILE = "job.json"
COMPLETED, FAILED, PRUNED, STARTED = "completed", "failed", "pruned", "started"
RUNNING, INTERRUPTED = "running", "interrupted"  # how a job.json still saying STARTED reads


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def write_job_status(job_dir: Path, status: str, overrides: list[str], error: str = "") -> Path:
    """``job.json``; the process id and host let a reader tell a running job from a dead one."""
    record = dict(status=status, overrides=overrides, error=error, pid=os.getpid())
    path = Path(job_dir) / JOB_FILE
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


def sweep_job(task: Callable[[DictConfig], dict[str, Any]]) -> Callable[[DictConfig], Any]:
    """Wrap ``train(cfg) -> record`` into a Hydra task returning ``cfg.optimized_metric``.

    In a multirun: a job whose ``metrics.json`` exists (same overrides) is skipped
    and its stored metric returned; an exception marks the job ``failed`` (or
    ``pruned`` for an Optuna pruning) in ``job.json`` and returns None.
    """

    @functools.wraps(task)
    def wrapper(cfg: DictConfig) -> float | None:
        if not in_multirun():
            return returned_metric(task(cfg), cfg)
        job_dir = Path(HydraConfig.get().runtime.output_dir)
        overrides = list(HydraConfig.get().overrides.task)
        check_sweep_figures(cfg, overrides)
        record = finished_record(job_dir, overrides)
        if record is not None:
            log.info("skipping %s: its metrics.json already exists", job_dir)
            return returned_metric(record, cfg)
        write_job_status(job_dir, STARTED, overrides)  # stays so if the process is killed
        try:
            record = task(cfg)
        except Exception as error:
            status, message = (
                PRUNED if isinstance(error, optuna.TrialPruned) else FAILED,
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
