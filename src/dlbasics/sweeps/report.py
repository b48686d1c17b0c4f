"""Everything written at the sweep root when a multirun ends (or on ``dlbasics-summarize``)."""

import logging
from pathlib import Path

from dlbasics.sweeps.curves import plot_curves
from dlbasics.sweeps.summary import SUMMARY_MD, collect, write_summary

log = logging.getLogger("dlbasics")


def summarize(sweep_dir: Path, test_selected: bool = False) -> Path:
    """summary.csv/.md, the curves figure and, for a CV sweep with ``test_selected``,
    the one test run of the configuration with the best mean CV score."""
    from dlbasics.sweeps.selection import is_cv_sweep, selection_markdown, test_best

    sweep_dir = Path(sweep_dir)
    jobs = collect(sweep_dir)
    extra = ""
    if test_selected and is_cv_sweep(jobs):
        extra = selection_markdown(test_best(sweep_dir, jobs))
    write_summary(sweep_dir, extra)
    figure = plot_curves([j for j in jobs if j.metrics], sweep_dir) if jobs else None
    if figure is not None:
        log.info("sweep curves: %s", figure)
    log.info("sweep summary: %s", sweep_dir / SUMMARY_MD)
    return sweep_dir / SUMMARY_MD
