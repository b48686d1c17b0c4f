"""Optimizer paths on functions of two variables, with the scratch optimizers.

    python -m dlbasics.studies.optimizer_paths gradient_descent   # path.csv + path.png
    python -m dlbasics.studies.optimizer_paths optimizer_paths    # paths.csv + paths.png
    python -m dlbasics.studies.optimizer_paths optimizer_paths_3d # paths_3d.csv + surface

``gradient_descent`` is the PyTorch book's demo (J(w) = w1² + w2² + 2·w2 + 5 from (−2, 3),
lr 0.1, 20 steps); ``optimizer_paths`` is NNDL 7.3's comparison on 0.2·x1² + 2·x2² from
(3, 4) with the book's settings, and ``optimizer_paths_3d`` the same optimizers on
x1² + x2² + x2³ + x1·x2 from (2, 3), 150 steps each. Every CSV has one row per step (step 0 =
the start); the figures go to PNG and to a TensorBoard event file beside them.
"""

import csv
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from dlbasics.compat import file_writer
from dlbasics.scratch import optim
from dlbasics.scratch.surfaces import SURFACES, Surface
from dlbasics.utils.figures import plt, png_summary
from dlbasics.utils.measurements import study_main

EPS = 1e-7  # the book's ε for every adaptive optimizer


@dataclass(frozen=True)
class Arm:
    label: str
    optimizer: type[optim.ScratchOptimizer]
    settings: dict[str, Any]
    steps: int


BOOK_ARMS = [
    Arm("GD", optim.SGD, {"lr": 0.2}, 20),
    Arm("AdaGrad", optim.AdaGrad, {"lr": 0.5, "eps": EPS}, 50),
    Arm("RMSprop", optim.RMSprop, {"lr": 0.1, "alpha": 0.9, "eps": EPS}, 50),
    Arm("Momentum", optim.Momentum, {"lr": 0.01, "momentum": 0.9}, 50),
    Arm("Adam", optim.Adam, {"lr": 0.2, "betas": (0.9, 0.99), "eps": EPS}, 20),
]
STUDIES = {
    "gradient_descent": ("bowl", (-2.0, 3.0), [Arm("GD", optim.SGD, {"lr": 0.1}, 20)], "path.csv"),
    "optimizer_paths": ("ellipse", (3.0, 4.0), BOOK_ARMS, "paths.csv"),
    "optimizer_paths_3d": (
        "cubic",
        (2.0, 3.0),
        [Arm(a.label, a.optimizer, a.settings, 150) for a in BOOK_ARMS],
        "paths_3d.csv",
    ),
}


def path(
    surface: Surface, start: Sequence[float], arm: Arm
) -> list[tuple[int, float, float, float]]:
    """``(step, x1, x2, f)`` from the start through every step (float64, gradient by hand)."""
    point = nn.Parameter(torch.tensor(start, dtype=torch.float64))
    optimizer = arm.optimizer([point], **arm.settings)
    rows = []
    for step in range(arm.steps + 1):
        with torch.no_grad():
            rows.append((step, float(point[0]), float(point[1]), float(surface.value(point))))
            if step == arm.steps or not math.isfinite(rows[-1][3]):
                break
            point.grad = surface.gradient(point)
        optimizer.step()
    return rows


def figure(surface: Surface, paths: dict[str, list], start: Sequence[float], three_d: bool):
    """Contours (or the surface) around the start; a path that runs away leaves the frame."""
    reach = 1.5 * max(abs(v) for v in start)
    near = [
        (x1, x2)
        for rows in paths.values()
        for _, x1, x2, _ in rows
        if max(abs(x1), abs(x2)) <= reach
    ]
    low = min(min(p) for p in near) - 0.5
    high = max(max(p) for p in near) + 0.5
    grid = torch.linspace(low, high, 200, dtype=torch.float64)
    x1, x2 = torch.meshgrid(grid, grid, indexing="xy")
    values = surface.value(torch.stack([x1, x2]))
    if three_d:
        fig = plt.figure(figsize=(7, 6))
        axes = fig.add_subplot(projection="3d")
        axes.plot_surface(x1.numpy(), x2.numpy(), values.numpy(), cmap="viridis", alpha=0.5)
        for label, rows in paths.items():
            kept = [r for r in rows if low <= min(r[1:3]) and max(r[1:3]) <= high]
            axes.plot(
                [r[1] for r in kept],
                [r[2] for r in kept],
                [r[3] for r in kept],
                marker=".",
                label=label,
            )
    else:
        fig, axes = plt.subplots(figsize=(7, 6))
        axes.contour(x1.numpy(), x2.numpy(), values.numpy(), levels=30, cmap="viridis")
        for label, rows in paths.items():
            axes.plot([r[1] for r in rows], [r[2] for r in rows], marker=".", label=label)
        axes.set(xlim=(low, high), ylim=(low, high))
    axes.set(xlabel="x1", ylabel="x2", title=surface.formula)
    axes.legend(fontsize=8)
    return fig


def run_study(name: str, out: Path) -> dict[str, float]:
    surface_name, start, arms, csv_name = STUDIES[name]
    surface = SURFACES[surface_name]
    paths = {arm.label: path(surface, start, arm) for arm in arms}
    out.mkdir(parents=True, exist_ok=True)
    with (out / csv_name).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["step", "w1", "w2", "loss"]
            if len(arms) == 1
            else ["optimizer", "step", "x1", "x2", "loss"]
        )
        for label, rows in paths.items():
            writer.writerows(rows if len(arms) == 1 else [(label, *r) for r in rows])
    png = out / csv_name.replace(".csv", ".png")
    plotted = figure(surface, paths, start, three_d=name.endswith("_3d"))
    plotted.savefig(png, dpi=100, bbox_inches="tight")
    plt.close(plotted)
    with SummaryWriter(str(out / "tensorboard")) as events:
        file_writer(events).add_summary(png_summary(f"paths/{name}", png.read_bytes()), 0)
    values = {}
    for label, rows in paths.items():
        step, x1, x2, loss = rows[-1]
        values.update(
            {f"{label} steps": step, f"{label} x1": x1, f"{label} x2": x2, f"{label} loss": loss}
        )
        if len(rows) > 1:
            values.update({f"{label} first x1": rows[1][1], f"{label} first x2": rows[1][2]})
    print(f"{name}: {csv_name}, {png.name} and tensorboard/ in {out}")
    for label, rows in paths.items():
        print(
            f"  {label:9s} step {rows[-1][0]:3d}: ({rows[-1][1]:.4g}, {rows[-1][2]:.4g}), "
            f"f = {rows[-1][3]:.4g}"
        )
    return values


def main(argv: Sequence[str] | None = None) -> None:
    studies = {name: functools.partial(run_study, name) for name in STUDIES}
    study_main(studies, __doc__.split("\n")[0], "optimizer_paths", argv, printed=lambda _: None)


if __name__ == "__main__":
    main()
