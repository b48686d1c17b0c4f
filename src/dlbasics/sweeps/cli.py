"""What is written at the sweep root when a multirun ends: the results table, the curves
figure, a metric against a swept number (``sweep_figures.*``) and, for a CV sweep, the one
test of the selected configuration. Run as a Hydra callback (``hydra.callbacks.summary`` in
conf/hydra/default.yaml) or, for any finished, partial or killed sweep, as
``dlbasics-summarize <sweep_dir>``."""

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import DlbasicsError
from dlbasics.studies.metric_against import against_markdown, plot_against, series_against
from dlbasics.studies.sweep_curves import plot_curves
from dlbasics.training.selection import retrain_and_test, selection_markdown
from dlbasics.utils.cli import EXIT_USER_ERROR
from dlbasics.utils.config import config_value
from dlbasics.utils.figures import add_png_files
from dlbasics.utils.run_dir import load_run_config

log = logging.getLogger("dlbasics")

SELECTED_DIR = "selected_test"
SWEEP_TENSORBOARD = "tensorboard"  # the sweep's own figures, beside the jobs' event files


def summarize(sweep_dir: Path, with_selected_test: bool = False) -> Path:
    """summary.csv/.md, the curves figure and, for a CV sweep with ``with_selected_test``,
    one training and test run of the configuration with the best mean CV score."""
    # Imported here: pandas is slow to import, Hydra builds this callback for single runs
    # too, and only the end of a sweep needs the table.
    from dlbasics.sweeps.summary import SUMMARY_MD, best_first, collect, write_summary

    sweep_dir = Path(sweep_dir)
    jobs = collect(sweep_dir)
    ranked = [
        j for j in best_first(jobs) if "cv_folds" in j.metrics and j.number(j.monitor) is not None
    ]
    extra = ""
    if with_selected_test and any("cv_folds" in j.metrics for j in jobs):
        extra = "## Selected configuration\n\nNo CV job finished; nothing was tested."
        if ranked:
            best = ranked[0]
            record = retrain_and_test(best.path, best.overrides, sweep_dir / SELECTED_DIR)
            score = (best.number(best.monitor), best.number(f"{best.monitor}_std") or 0.0)
            extra = selection_markdown(
                best.path.name, best.overrides, best.monitor, score, record, SELECTED_DIR
            )
    # What to draw is part of every job's config (the study's experiment file sets it).
    settings = load_run_config(jobs[0].path) if jobs else OmegaConf.create()
    curve_tags = config_value(settings, "sweep_figures.curves")
    against = config_value(settings, "sweep_figures.against")
    metric = str(config_value(settings, "sweep_figures.metric", "test/acc"))
    figures: dict[str, Path] = {}
    if against:
        series = series_against([(j.overrides, j.metrics) for j in jobs], str(against), metric)
        figures[f"sweep/{metric}_vs_{against}"] = plot_against(series, against, metric, sweep_dir)
        extra = "\n\n".join(filter(None, [against_markdown(series, against, metric), extra]))
    write_summary(sweep_dir, extra)
    monitor = next((j.monitor for j in jobs if j.monitor), None)
    runs = [(j.path, j.overrides) for j in jobs if j.metrics]
    curves = plot_curves(runs, monitor, sweep_dir, list(curve_tags) if curve_tags else None)
    if curves is not None:
        figures["sweep/curves"] = curves
    if figures:
        add_png_files(sweep_dir / SWEEP_TENSORBOARD, figures)
        log.info("sweep figures: %s", ", ".join(str(path) for path in figures.values()))
    log.info("sweep summary: %s", sweep_dir / SUMMARY_MD)
    return sweep_dir / SUMMARY_MD


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            log.warning("no sweep dir %s: nothing to summarise", sweep_dir)
            return
        try:
            summarize(sweep_dir, bool(config_value(config, "cv.test_selected", True)))
        except Exception:  # the jobs' own outputs are safe; a table bug must not hide them
            log.exception("writing the summary of %s failed; rerun dlbasics-summarize", sweep_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dlbasics-summarize", description=__doc__)
    parser.add_argument("sweep_dir", type=Path, help="logs/<task>/multiruns/<time>_<pid>")
    parser.add_argument(
        "--test-selected",
        action="store_true",
        help="CV sweeps: train the best configuration and test it once",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = summarize(args.sweep_dir, with_selected_test=args.test_selected)
    except DlbasicsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
