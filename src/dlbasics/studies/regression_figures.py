"""Figures over the runs of one sweep: loss curves (d2l 4.4) and fitted curves (NNDL 2.3).

Each run leaves its data in its own dir (``loss_history.csv`` from the
LossHistory callback, ``figures/fitted_curve.json`` from FittedCurveFigure);
this module only overlays them. Use it from the shell on a finished sweep::

    python -m dlbasics.studies.regression_figures losses <sweep dir> --label model.net.degree

or let Hydra call it when a declared sweep ends (``OverlayFigureCallback`` in
an experiment's ``hydra.callbacks``, as nndl/sin_fit does).
"""

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from hydra.experimental.callback import Callback
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf

from dlbasics.callbacks.decision_boundary import draw_regions
from dlbasics.callbacks.loss_history import HISTORY_FILE, read_history
from dlbasics.errors import DataError
from dlbasics.utils.figures import FIGURES_DIR, plt
from dlbasics.utils.run_dir import load_run_config, saved_config_path

CURVE_FILE = f"{FIGURES_DIR}/figures_fitted_curve.json"
BOUNDARY_FILE = f"{FIGURES_DIR}/figures_decision_boundary.json"


def run_dirs(paths: Sequence[str | Path], needed: str) -> list[Path]:
    """Run dirs holding ``needed``: each path is a run dir or a sweep dir of run dirs."""
    found: list[Path] = []
    for path in map(Path, paths):
        if (path / needed).is_file():
            found.append(path)
        else:
            depth = needed.count("/")  # the run dir is this many levels above the file's folder
            found.extend(sorted(p.parents[depth] for p in path.glob(f"*/{needed}")))
    if not found:
        raise DataError(
            f"no run dir with {needed} under {', '.join(map(str, paths))}; "
            f"did the runs use the matching callback?"
        )
    return found


def run_label(run_dir: Path, key: str) -> str:
    """``key=value`` from the run's saved Hydra config, or from its command-line overrides
    for a group choice the config does not hold (``+variant=...``); else the dir's name."""
    if not saved_config_path(run_dir).is_file():
        return run_dir.name
    value = OmegaConf.select(load_run_config(run_dir), key, default=None)
    overrides = saved_config_path(run_dir).with_name("overrides.yaml")
    if value is None and overrides.is_file():
        for item in OmegaConf.load(overrides):
            name, _, chosen = str(item).lstrip("+~").partition("=")
            value = chosen if name == key else value
    return f"{key.rsplit('.', 1)[-1]}={value}"


def loss_figure(dirs: Sequence[Path], label: str) -> Figure:
    """Train (solid) and validation (dashed) loss per epoch of every run, log scale."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for index, run_dir in enumerate(dirs):
        history = read_history(run_dir)
        epochs = [e + 1 for e in history["epoch"]]
        color = f"C{index}"
        name = run_label(run_dir, label)
        axes.plot(epochs, history["train/loss"], color=color, label=f"{name} train")
        axes.plot(epochs, history["val/loss"], color=color, linestyle="--", label=f"{name} val")
    axes.set(xlabel="epoch", ylabel="loss", yscale="log")
    axes.legend(fontsize=8)
    return figure


def curve_figure(dirs: Sequence[Path], label: str) -> Figure:
    """The fitted curve of every run over the training points and the true function."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for index, run_dir in enumerate(dirs):
        record = json.loads((run_dir / CURVE_FILE).read_text())
        if index == 0:
            axes.scatter(record["train_x"], record["train_y"], color="k", s=16, label="train")
            if record["truth"] is not None:
                axes.plot(record["x"], record["truth"], "k--", label="true function")
        axes.plot(record["x"], record["fitted"], color=f"C{index}", label=run_label(run_dir, label))
    axes.set(xlabel="x", ylabel="y")
    axes.legend(fontsize=8)
    return figure


def boundary_figure(dirs: Sequence[Path], label: str) -> Figure:
    """Every run's decision regions and test points, side by side."""
    figure, axes = plt.subplots(1, len(dirs), figsize=(4.5 * len(dirs), 4), squeeze=False)
    for axis, run_dir in zip(axes[0], dirs, strict=True):
        record = json.loads((run_dir / BOUNDARY_FILE).read_text())
        draw_regions(axis, record)
        axis.set(title=f"{run_label(run_dir, label)} (test acc {record['accuracy']:.3f})")
    return figure


KINDS: dict[str, tuple[str, Callable[[Sequence[Path], str], Figure]]] = {
    "boundaries": (BOUNDARY_FILE, boundary_figure),
    "losses": (HISTORY_FILE, loss_figure),
    "curves": (CURVE_FILE, curve_figure),
}


def write_overlay(kind: str, paths: Sequence[str | Path], label: str, out: Path) -> Path:
    needed, draw = KINDS[kind]
    figure = draw(run_dirs(paths, needed), label)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return out


class OverlayFigureCallback(Callback):
    """Hydra callback: when a multirun ends, write ``<sweep dir>/<kind file>.png``."""

    def __init__(self, kind: str = "curves", label: str = "model.net.degree") -> None:
        if kind not in KINDS:
            raise DataError(f"unknown overlay kind {kind!r}; allowed: {', '.join(KINDS)}")
        self.kind, self.label = kind, label

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        name = {
            "curves": "fitted_curves.png",
            "losses": "loss_curves.png",
            "boundaries": "decision_boundaries.png",
        }[self.kind]
        path = write_overlay(self.kind, [sweep_dir], self.label, sweep_dir / name)
        print(f"overlay figure: {path}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("paths", nargs="+", help="run dirs or sweep dirs")
    parser.add_argument("--label", default="model.net.degree", help="config key for the legend")
    parser.add_argument("--out", type=Path, help="PNG to write (default: in the first path)")
    args = parser.parse_args(argv)
    out = args.out or Path(args.paths[0]) / f"{args.kind}_overlay.png"
    print(write_overlay(args.kind, args.paths, args.label, out))


if __name__ == "__main__":
    main()
