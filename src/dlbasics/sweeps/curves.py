"""One figure overlaying the validation curves of every job of a sweep.

The curves are read back from each job's TensorBoard events, so the figure can
be redrawn for a finished sweep without re-running anything.
"""

from collections.abc import Sequence
from pathlib import Path

from dlbasics.sweeps.summary import Job
from dlbasics.utils.figures import plt

CURVES_PNG = "curves.png"


def read_scalars(job_dir: Path, tag: str) -> list[float]:
    """The values of ``tag`` in the job's TensorBoard events, in logging order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values: list[float] = []
    for events in sorted((Path(job_dir) / "tensorboard").glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0})
        accumulator.Reload()
        if tag in accumulator.Tags().get("scalars", []):
            values += [event.value for event in accumulator.Scalars(tag)]
    return values


def label(job: Job, keys: Sequence[str]) -> str:
    return " ".join(f"{k.split('.')[-1]}={job.overrides.get(k, '')}" for k in keys) or job.name


def plot_curves(jobs: Sequence[Job], out_dir: Path) -> Path | None:
    """val/loss and the monitored validation metric per epoch, one line per job.
    Returns None when no job logged TensorBoard curves (e.g. ``logger=csv``)."""
    tags = ["val/loss"]
    monitor = next((j.monitor for j in jobs if j.monitor), None)
    if monitor:
        base = monitor.removesuffix("_best").removesuffix("_mean")
        if base != "val/loss" and base.startswith("val/"):
            tags.append(base)
    keys = sorted(
        {k for j in jobs for k in j.overrides if len({x.overrides.get(k) for x in jobs}) > 1}
    )
    figure, axes = plt.subplots(1, len(tags), figsize=(6 * len(tags), 4), squeeze=False)
    drawn = 0
    for job in jobs:
        for axis, tag in zip(axes[0], tags, strict=True):
            values = read_scalars(job.path, tag)
            if values:
                axis.plot(range(1, len(values) + 1), values, marker=".", label=label(job, keys))
                drawn += 1
    if not drawn:
        plt.close(figure)
        return None
    for axis, tag in zip(axes[0], tags, strict=True):
        axis.set(xlabel="epoch", ylabel=tag, title=tag)
        axis.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    path = Path(out_dir) / CURVES_PNG
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path
