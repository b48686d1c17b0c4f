"""One figure overlaying the curves of several runs (every job of a sweep).

The curves are read back from each run's TensorBoard events, so the figure can be
redrawn for a finished sweep without re-running anything.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

from dlbasics.utils.figures import plt
from dlbasics.utils.loggers import read_scalars

CURVES_PNG = "curves.png"
Run = tuple[Path, Mapping[str, str]]  # a run dir and its command-line overrides
# Curves whose values span more decades than this (exploding and collapsing gradient norms)
# are drawn on a log axis; on a linear one everything but the largest spike is a flat line.
LOG_AXIS_DECADES = 3


def wants_log_axis(values: Sequence[float]) -> bool:
    """Positive values spanning more than ``LOG_AXIS_DECADES`` decades."""
    return bool(values) and min(values) > 0 and max(values) / min(values) > 10**LOG_AXIS_DECADES


def epoch_tags(monitor: str | None) -> list[str]:
    """val/loss and the monitored val metric (without its _best/_mean suffix)."""
    base = (monitor or "").removesuffix("_best").removesuffix("_mean")
    return ["val/loss", *([base] if base.startswith("val/") and base != "val/loss" else [])]


def run_labels(runs: Sequence[Run]) -> list[str]:
    """Each run labelled by the overrides that differ between runs (its dir name if none)."""
    keys = sorted({k for _, o in runs for k in o if len({x.get(k) for _, x in runs}) > 1})
    return [
        " ".join(f"{k.split('.')[-1]}={overrides.get(k, '')}" for k in keys) or run_dir.name
        for run_dir, overrides in runs
    ]


def plot_curves(
    runs: Sequence[Run],
    monitor: str | None,
    out_dir: Path,
    tags: Sequence[str] | None = None,
) -> Path | None:
    """One panel per tag, one line per run. Without ``tags``: val/loss and the monitored val
    metric against the epoch; with ``tags`` (any logged scalars, e.g. per-step gradient
    norms): those, against the step they were logged at. The PNG's path, or None when no
    run logged any of them to TensorBoard (e.g. ``logger=csv``)."""
    per_step = bool(tags)
    tags = list(tags) if tags else epoch_tags(monitor)
    figure, axes = plt.subplots(1, len(tags), figsize=(6 * len(tags), 4), squeeze=False)
    drawn = 0
    for (run_dir, _), label in zip(runs, run_labels(runs), strict=True):
        for axis, tag in zip(axes[0], tags, strict=True):
            points = read_scalars(run_dir, tag)
            if not points:
                continue
            steps = [step for step, _ in points] if per_step else range(1, len(points) + 1)
            axis.plot(
                steps, [value for _, value in points], marker="" if per_step else ".", label=label
            )
            drawn += 1
    path = Path(out_dir) / CURVES_PNG
    if drawn:
        for axis, tag in zip(axes[0], tags, strict=True):
            axis.set(xlabel="step" if per_step else "epoch", ylabel=tag, title=tag)
            if wants_log_axis([y for line in axis.get_lines() for y in line.get_ydata()]):
                axis.set_yscale("log")
            axis.grid(alpha=0.3)
        axes[0][-1].legend(fontsize=7, loc="best")
        figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path if drawn else None
