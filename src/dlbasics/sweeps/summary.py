"""The results table of a sweep: one row per job, plus mean ± std per configuration.

Everything is read back from the job dirs (``.hydra/``, ``metrics.json``,
``job.json``), so the table can be rebuilt for a partial or crashed sweep.
"""

import csv
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from dlbasics.errors import DataError
from dlbasics.sweeps.jobs import COMPLETED, FAILED, config_value, read_job_status
from dlbasics.sweeps.resume import sweep_key
from dlbasics.utils.run_dir import METRICS_FILE

SUMMARY_CSV, SUMMARY_MD, AGGREGATE_CSV = "summary.csv", "summary.md", "summary_aggregate.csv"
REPEAT_KEYS = ("seed",)  # overrides that repeat a configuration rather than define one
RUNNING = "missing"


@dataclass
class Job:
    """One job dir of a sweep as the table sees it."""

    path: Path
    overrides: dict[str, str]
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    monitor: str | None = None
    mode: str = "max"

    @property
    def name(self) -> str:
        return self.path.name

    def number(self, key: str) -> float | None:
        value = self.metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return None


def split_override(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key.lstrip("+~"), value


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Job dirs are the children holding a saved Hydra config, in job-number order."""
    found = [p for p in Path(sweep_dir).iterdir() if (p / ".hydra" / "config.yaml").is_file()]
    return sorted(found, key=lambda p: (0, int(p.name)) if p.name.isdigit() else (1, p.name))


def monitored(config: Any, metrics: dict[str, Any]) -> tuple[str | None, str]:
    """The metric a job is ranked by: ``optimized_metric`` if set, else the task's monitor
    (its ``_best`` value when logged), with the task's min/max mode."""
    mode = str(config_value(config, "model.monitor_mode", "max"))
    for key in (config_value(config, "optimized_metric"), None):
        if key and key in metrics:
            return str(key), mode
    monitor = config_value(config, "model.monitor")
    if monitor and f"{monitor}_best" in metrics:
        return f"{monitor}_best", mode
    return (str(monitor) if monitor else None), mode


def read_job(path: Path) -> Job:
    overrides_file = path / ".hydra" / "overrides.yaml"
    overrides = OmegaConf.load(overrides_file) if overrides_file.is_file() else []
    pairs = dict(split_override(str(item)) for item in sweep_key(list(overrides)))
    config = OmegaConf.load(path / ".hydra" / "config.yaml")
    metrics_file = path / METRICS_FILE
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    recorded = read_job_status(path)
    status = recorded.get("status") or (COMPLETED if metrics else RUNNING)
    monitor, mode = monitored(config, metrics)
    job = Job(path, pairs, status, metrics, recorded.get("error", ""), monitor, mode)
    if job.status == COMPLETED and monitor and job.number(monitor) is None and metrics:
        job.status, job.error = FAILED, f"{monitor} is not finite (the run diverged)"
    return job


def collect(sweep_dir: Path) -> list[Job]:
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise DataError(
            f"{sweep_dir} is not a directory; pass the sweep dir of a multirun "
            f"(logs/<task>/multiruns/<time>_<pid>)"
        )
    return [read_job(path) for path in job_dirs(sweep_dir)]


def sort_jobs(jobs: Sequence[Job]) -> list[Job]:
    """Best first by the monitored metric; jobs without the number (failed, missing) last."""

    def key(job: Job) -> tuple[int, float]:
        value = job.number(job.monitor) if job.monitor else None
        if value is None:
            return (1, 0.0)
        return (0, -value if job.mode == "max" else value)

    return sorted(jobs, key=key)


def override_keys(jobs: Sequence[Job]) -> list[str]:
    """The override keys that differ between jobs (all of them for a single job)."""
    keys: list[str] = []
    for job in jobs:
        keys.extend(k for k in job.overrides if k not in keys)
    if len(jobs) < 2:
        return keys
    return [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]


def common_overrides(jobs: Sequence[Job]) -> list[str]:
    varying = set(override_keys(jobs))
    first = jobs[0].overrides if jobs else {}
    return [f"{k}={v}" for k, v in first.items() if k not in varying]


def metric_keys(jobs: Iterable[Job]) -> list[str]:
    """Numeric metric names, val/* then test/* then the rest (epochs, seconds, ...)."""
    names = {k for job in jobs for k in job.metrics if job.number(k) is not None}
    order = {"val": 0, "test": 1}
    return sorted(names, key=lambda k: (order.get(k.split("/")[0], 2), k))


def seconds_per_epoch(job: Job) -> float | None:
    """Wall time over epochs (over epochs x folds for a CV job)."""
    seconds, epochs = job.number("seconds"), job.number("epochs")
    epochs = (epochs or 0) * (job.number("cv_k") or 1)
    return round(seconds / epochs, 3) if seconds is not None and epochs else None


def job_rows(jobs: Sequence[Job]) -> tuple[list[str], list[list[Any]]]:
    keys, metrics = override_keys(jobs), metric_keys(jobs)
    header = ["job", "status", *keys, *metrics, "seconds_per_epoch", "error"]
    rows = [
        [
            job.name,
            job.status,
            *(job.overrides.get(k, "") for k in keys),
            *(job.number(m) for m in metrics),
            seconds_per_epoch(job),
            job.error,
        ]
        for job in sort_jobs(jobs)
    ]
    return header, rows


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate_rows(jobs: Sequence[Job]) -> tuple[list[str], list[list[Any]]] | None:
    """Mean ± std over the jobs that differ only in a repeat key (``seed``); None when
    no configuration was repeated."""
    keys = [k for k in override_keys(jobs) if k not in REPEAT_KEYS]
    groups: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        if job.status == COMPLETED:
            groups.setdefault(tuple(job.overrides.get(k, "") for k in keys), []).append(job)
    if not any(len(group) > 1 for group in groups.values()):
        return None
    metrics = metric_keys(jobs)
    header = [*keys, "runs"]
    for name in metrics:
        header += [f"{name}_mean", f"{name}_std"]
    rows = []
    for config, group in groups.items():
        row: list[Any] = [*config, len(group)]
        for name in metrics:
            values = [v for v in (job.number(name) for job in group) if v is not None]
            row += list(mean_std(values)) if values else [None, None]
        rows.append(row)
    ranking = next((j.monitor for j in jobs if j.monitor), None)
    if ranking and f"{ranking}_mean" in header:
        column, sign = header.index(f"{ranking}_mean"), (-1 if jobs[0].mode == "max" else 1)
        rows.sort(key=lambda r: (r[column] is None, sign * (r[column] or 0.0)))
    return header, rows


def shown_in_markdown(column: str, jobs: Sequence[Job]) -> bool:
    """summary.md keeps the ranking metric, the losses and the test number of the monitored
    metric (with CV spreads); summary.csv has every column."""
    monitor = next((j.monitor for j in jobs if j.monitor), "") or ""
    base = monitor.removesuffix("_best").split("/")[-1]
    keep = {monitor, "val/loss", f"val/{base}", f"test/{base}", "test/loss", "epochs"}
    if "/" not in column:
        return column not in ("global_step", "seconds")
    return column.removesuffix("_std") in keep


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(format_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def aggregate_markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The aggregate as ``mean ± std`` cells, one column per metric."""
    split = header.index("runs") + 1
    names = [h.removesuffix("_mean") for h in header[split::2]]
    cells = [
        [
            *row[:split],
            *(
                f"{format_cell(m)} ± {format_cell(s)}" if m is not None else ""
                for m, s in zip(row[split::2], row[split + 1 :: 2], strict=True)
            ),
        ]
        for row in rows
    ]
    return markdown_table([*header[:split], *names], cells)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def write_summary(sweep_dir: Path, extra_markdown: str = "") -> list[Job]:
    """Write summary.csv / summary.md (and summary_aggregate.csv) at the sweep root."""
    sweep_dir = Path(sweep_dir)
    jobs = collect(sweep_dir)
    counts = {s: sum(j.status == s for j in jobs) for s in dict.fromkeys(j.status for j in jobs)}
    ranking = next((f"{j.monitor} ({j.mode})" for j in jobs if j.monitor), "n/a")
    lines = [
        f"# Sweep {sweep_dir.name}",
        "",
        f"{len(jobs)} jobs: "
        + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none")
        + f"; sorted by {ranking}.",
        "",
    ]
    if jobs and common_overrides(jobs):
        lines += ["Common overrides: `" + " ".join(common_overrides(jobs)) + "`", ""]
    if jobs:
        header, rows = job_rows(jobs)
        write_csv(sweep_dir / SUMMARY_CSV, header, rows)
        shown = [i for i, name in enumerate(header) if shown_in_markdown(name, jobs)]
        lines += [
            markdown_table([header[i] for i in shown], [[r[i] for i in shown] for r in rows]),
            "",
            f"All metrics: {SUMMARY_CSV}.",
            "",
        ]
        aggregate = aggregate_rows(jobs)
        if aggregate is not None:
            write_csv(sweep_dir / AGGREGATE_CSV, *aggregate)
            lines += ["## Mean ± std over seeds", "", aggregate_markdown(*aggregate), ""]
    if extra_markdown:
        lines += [extra_markdown, ""]
    (sweep_dir / SUMMARY_MD).write_text("\n".join(lines))
    return jobs
