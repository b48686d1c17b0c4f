"""One figure overlaying the validation curves of several runs (every job of a sweep).

The curves are read back from each run's TensorBoard events, so the figure can be
redrawn for a finished sweep without re-running anything.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

from dlbasics.utils.figures import plt
from dlbasics.utils.loggers import read_scalars

CURVES_PNG = "curves.png"
Run = tuple[Path, Mapping[str, str]]  # a run dir and its command-line overrides


def plot_curves(runs: Sequence[Run], monitor: str | None, out_dir: Path) -> Path | None:
    """val/loss and the monitored val metric per epoch, one line per run labelled by the
    overrides that differ between runs; the PNG's path, or None when no run logged
    TensorBoard curves (e.g. ``logger=csv``)."""
    base = (monitor or "").removesuffix("_best").removesuffix("_mean")
    tags = ["val/loss", *([base] if base.startswith("val/") and base != "val/loss" else [])]
    keys = sorted({k for _, o in runs for k in o if len({x.get(k) for _, x in runs}) > 1})
    figure, axes = plt.subplots(1, len(tags), figsize=(6 * len(tags), 4), squeeze=False)
    drawn = 0
    for run_dir, overrides in runs:
        label = " ".join(f"{k.split('.')[-1]}={overrides.get(k, '')}" for k in keys)
        for axis, tag in zip(axes[0], tags, strict=True):
            values = [value for _, value in read_scalars(run_dir, tag)]
            if values:
                axis.plot(
                    range(1, len(values) + 1), values, marker=".", label=label or run_dir.name
                )
                drawn += 1
    path = Path(out_dir) / CURVES_PNG
    if drawn:
        for axis, tag in zip(axes[0], tags, strict=True):
            axis.set(xlabel="epoch", ylabel=tag, title=tag)
            axis.grid(alpha=0.3)
        axes[0][-1].legend(fontsize=7, loc="best")
        figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path if drawn else None
