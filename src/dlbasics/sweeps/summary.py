"""The results table of a sweep: one row per job, plus mean ± std per configuration.

Everything is read back from the job dirs (``.hydra/``, ``metrics.json``,
``job.json``), so the table can be rebuilt for a partial or crashed sweep.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from dlbasics.errors import DataError
from dlbasics.sweeps.jobs import COMPLETED, FAILED, read_job_status
from dlbasics.sweeps.resume import sweep_key
from dlbasics.utils.config import config_value
from dlbasics.utils.run_dir import load_run_config, read_metrics, saved_config_path

SUMMARY_CSV, SUMMARY_MD, AGGREGATE_CSV = "summary.csv", "summary.md", "summary_aggregate.csv"
REPEAT_KEYS = ("seed",)  # overrides that repeat a configuration rather than define one
MISSING = "missing"  # a job dir with a config but no job.json: nothing was recorded


@dataclass
class Job:
    """One job dir of a sweep as the table sees it; ranked by ``monitor`` (``mode``)."""

    path: Path
    overrides: dict[str, str]
    status: str
    metrics: dict[str, Any]
    error: str
    monitor: str | None
    mode: str

    def number(self, key: str | None) -> float | None:
        value = self.metrics.get(key) if key else None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else None


def read_job(path: Path) -> Job:
    """The job's overrides, metrics and status. It is ranked by ``optimized_metric`` if set,
    else by the task's monitor (its ``_best`` value when logged)."""
    overrides_file = saved_config_path(path).with_name("overrides.yaml")
    overrides = OmegaConf.load(overrides_file) if overrides_file.is_file() else []
    pairs = dict(item.lstrip("+~").partition("=")[::2] for item in sweep_key(list(overrides)))
    metrics, recorded, config = (
        read_metrics(path) or {},
        read_job_status(path),
        load_run_config(path),
    )
    monitor = config_value(config, "optimized_metric")
    if monitor not in metrics:
        monitor = config_value(config, "model.monitor")
        monitor = f"{monitor}_best" if f"{monitor}_best" in metrics else monitor
    status = recorded.get("status") or (COMPLETED if metrics else MISSING)
    mode = str(config_value(config, "model.monitor_mode", "max"))
    job = Job(path, pairs, status, metrics, recorded.get("error", ""), monitor, mode)
    if job.status == COMPLETED and metrics and monitor and job.number(monitor) is None:
        job.status, job.error = FAILED, f"{monitor} is not finite (the run diverged)"
    return job


def collect(sweep_dir: Path) -> list[Job]:
    """Every job dir (a child holding a saved Hydra config), in job-number order."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise DataError(
            f"{sweep_dir} is not a directory; pass the sweep dir of a multirun "
            f"(logs/<task>/multiruns/<time>_<pid>)"
        )
    found = [p for p in sweep_dir.iterdir() if saved_config_path(p).is_file()]
    found.sort(key=lambda p: (0, int(p.name)) if p.name.isdigit() else (1, p.name))
    return [read_job(path) for path in found]


def best_first(jobs: list[Job]) -> list[Job]:
    """By the monitored metric; jobs without the number (failed, missing) last, in order."""

    def key(job: Job) -> tuple[int, float]:
        value = job.number(job.monitor)
        return (1, 0.0) if value is None else (0, -value if job.mode == "max" else value)

    return sorted(jobs, key=key)


def override_keys(jobs: list[Job]) -> list[str]:
    """The override keys that differ between jobs (all of them for a single job)."""
    keys = list(dict.fromkeys(k for job in jobs for k in job.overrides))
    if len(jobs) < 2:
        return keys
    return [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]


def job_table(jobs: list[Job]) -> pd.DataFrame:
    """One row per job, best first: overrides that vary, every number (val/*, test/*, then
    epochs, seconds, ...), seconds per epoch (per epoch and fold for CV), the error."""
    names = {k for job in jobs for k in job.metrics if job.number(k) is not None}
    metrics = sorted(names, key=lambda k: ({"val": 0, "test": 1}.get(k.split("/")[0], 2), k))
    ranked = best_first(jobs)
    table = pd.DataFrame(
        {"job": [j.path.name for j in ranked], "status": [j.status for j in ranked]}
    )
    for key in override_keys(jobs):
        table[key] = [j.overrides.get(key, "") for j in ranked]
    for name in metrics:
        table[name] = pd.Series([j.number(name) for j in ranked], dtype=float)
    seconds = pd.Series([j.number("seconds") for j in ranked], dtype=float)
    epochs = pd.Series([(j.number("epochs") or 0) * (j.number("cv_k") or 1) for j in ranked])
    table["seconds_per_epoch"] = (seconds / epochs.where(epochs > 0)).round(3)
    table["error"] = [j.error for j in ranked]
    return table


def sample_std(values: pd.Series) -> float:
    """Sample standard deviation; 0 for one value (pandas gives NaN)."""
    values = values.dropna()
    return float(values.std()) if len(values) > 1 else (0.0 if len(values) else math.nan)


def aggregate_table(jobs: list[Job], table: pd.DataFrame) -> pd.DataFrame | None:
    """``runs`` and ``<metric>_mean``/``_std`` over the completed jobs that differ only in a
    repeat key (``seed``); None when no configuration was repeated."""
    keys = [k for k in override_keys(jobs) if k not in REPEAT_KEYS] or ["_all"]
    done = table[table.status == COMPLETED].assign(_all="")
    metrics = [c for c in table.columns[2:-2] if c not in override_keys(jobs)]
    groups = done.groupby(keys, sort=False)
    if done.empty or groups.size().max() < 2:
        return None
    stats = groups[metrics].agg(["mean", sample_std])
    stats.columns = [f"{m}_{'mean' if s == 'mean' else 'std'}" for m, s in stats.columns]
    result = pd.concat([groups.size().rename("runs"), stats], axis=1).reset_index()
    ranking = next((f"{j.monitor}_mean" for j in jobs if j.monitor), None)
    if ranking in result:
        result = result.sort_values(ranking, ascending=jobs[0].mode == "min", kind="stable")
    return result.drop(columns=["_all"], errors="ignore")


def markdown(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.4g}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(map(cell, r)) + " |" for r in frame.values])


def shown_in_markdown(table: pd.DataFrame, monitor: str) -> pd.DataFrame:
    """summary.md keeps the ranking metric, the losses and the test number of the monitored
    metric (with CV spreads); summary.csv has every column."""
    base = monitor.removesuffix("_best").split("/")[-1]
    keep = {monitor, "val/loss", f"val/{base}", f"test/{base}", "test/loss", "epochs"}

    def shown(column: str) -> bool:
        if "/" not in column:
            return column not in ("global_step", "seconds")
        return column.removesuffix("_std") in keep

    return table[[c for c in table.columns if shown(c)]]


def mean_and_std(aggregate: pd.DataFrame) -> pd.DataFrame:
    """The aggregate with one ``mean ± std`` cell per metric."""
    split = list(aggregate.columns).index("runs") + 1
    cells = aggregate.iloc[:, :split].copy()
    for mean in aggregate.columns[split::2]:
        name = mean.removesuffix("_mean")
        pairs = zip(aggregate[mean], aggregate[f"{name}_std"], strict=True)
        cells[name] = ["" if math.isnan(m) else f"{m:.4g} ± {s:.4g}" for m, s in pairs]
    return cells


def write_summary(sweep_dir: Path, extra_markdown: str = "") -> list[Job]:
    """Write summary.csv / summary.md (and summary_aggregate.csv) at the sweep root."""
    sweep_dir = Path(sweep_dir)
    jobs = collect(sweep_dir)
    counts = pd.Series([j.status for j in jobs], dtype=object).value_counts(sort=False)
    monitor = next((j for j in jobs if j.monitor), None)
    ranking = f"{monitor.monitor} ({monitor.mode})" if monitor else "n/a"
    described = ", ".join(f"{n} {s}" for s, n in counts.items()) or "none"
    lines = [f"# Sweep {sweep_dir.name}\n\n{len(jobs)} jobs: {described}; sorted by {ranking}."]
    if jobs:
        varying = set(override_keys(jobs))
        common = [f"{k}={v}" for k, v in jobs[0].overrides.items() if k not in varying]
        lines += ["", "Common overrides: `" + " ".join(common) + "`"] if common else []
        table = job_table(jobs)
        table.to_csv(sweep_dir / SUMMARY_CSV, index=False)
        shown = shown_in_markdown(table, monitor.monitor if monitor else "")
        lines += ["", markdown(shown), "", f"All metrics: {SUMMARY_CSV}."]
        aggregate = aggregate_table(jobs, table)
        if aggregate is not None:
            aggregate.to_csv(sweep_dir / AGGREGATE_CSV, index=False)
            lines += ["", "## Mean ± std over seeds", "", markdown(mean_and_std(aggregate))]
    lines += ["", extra_markdown] if extra_markdown else []
    (sweep_dir / SUMMARY_MD).write_text("\n".join(lines) + "\n")
    return jobs
