"""A sweep's final metric against one numeric override, one line per setting of the others:
test accuracy against sequence length for an SRN and an LSTM (``study/memory_length``).

Works on plain ``(overrides, metrics)`` pairs, so it is drawn from the job dirs of a
finished, partial or resumed sweep without re-running anything.
"""

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlbasics.errors import ConfigError
from dlbasics.utils.figures import plt

JobResult = tuple[Mapping[str, str], Mapping[str, Any]]  # a job's overrides and metrics
REPEATS = ("seed",)  # overrides that repeat a setting: averaged, not drawn as lines


@dataclass
class Point:
    x: float
    mean: float
    std: float  # sample std over repeats; 0 for one run
    runs: int


def figure_name(metric: str, key: str) -> str:
    """``test_acc_vs_seq_len.png`` for test/acc against data.seq_len."""
    return f"{metric.replace('/', '_')}_vs_{key.split('.')[-1]}.png"


def numeric(value: str, key: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(
            f"sweep_figures.against={key}: the sweep gave it the value {value!r}, not a number; "
            f"plot against an override with numeric values (e.g. data.seq_len)"
        ) from None


def series_against(jobs: Sequence[JobResult], key: str, metric: str) -> dict[str, list[Point]]:
    """Label (the other varying overrides) → points sorted by ``key``. Jobs without a
    finite ``metric`` (failed, diverged, still running) are left out."""
    if not any(key in overrides for overrides, _ in jobs):
        raise ConfigError(
            f"sweep_figures.against={key}: no job of the sweep overrides {key}; name a key the "
            f"sweep varies (hydra.sweeper.params or a comma list on the command line)"
        )
    keys = {k for overrides, _ in jobs for k in overrides}
    varying = {k for k in keys if len({overrides.get(k) for overrides, _ in jobs}) > 1}
    others = sorted(varying - {key, *REPEATS})
    values: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for overrides, metrics in jobs:
        value = metrics.get(metric)
        if key not in overrides or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        label = " ".join(f"{k.split('.')[-1]}={overrides.get(k, '')}" for k in others)
        values[label or metric][numeric(overrides[key], key)].append(float(value))
    return {
        label: [
            Point(x, statistics.fmean(ys), statistics.stdev(ys) if len(ys) > 1 else 0.0, len(ys))
            for x, ys in sorted(by_x.items())
        ]
        for label, by_x in sorted(values.items())
    }


def plot_against(series: Mapping[str, list[Point]], key: str, metric: str, out_dir: Path) -> Path:
    """The figure (error bars: std over seeds where a setting was repeated)."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, points in series.items():
        axis.errorbar(
            [p.x for p in points],
            [p.mean for p in points],
            yerr=[p.std for p in points],
            marker="o",
            capsize=3,
            label=label,
        )
    axis.set(xlabel=key, ylabel=metric, title=f"{metric} against {key.split('.')[-1]}")
    axis.grid(alpha=0.3)
    if series:
        axis.legend(fontsize=8, loc="best")
    path = Path(out_dir) / figure_name(metric, key)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def against_markdown(series: Mapping[str, list[Point]], key: str, metric: str) -> str:
    """The same numbers as a table for summary.md: one row per value of ``key``."""
    xs = sorted({p.x for points in series.values() for p in points})
    cells = {(label, p.x): p for label, points in series.items() for p in points}

    def cell(label: str, x: float) -> str:
        point = cells.get((label, x))
        if point is None:
            return ""
        return f"{point.mean:.4g}" + (f" ± {point.std:.2g}" if point.runs > 1 else "")

    header = [key, *series]
    lines = [f"## {metric} against {key}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join([f"{x:g}", *(cell(s, x) for s in series)]) + " |" for x in xs]
    return "\n".join(lines)
