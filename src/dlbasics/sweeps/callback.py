"""Hydra callback (``hydra.callbacks.summary`` in conf/hydra/default.yaml) that writes the
results table when a multirun ends, whichever sweeper ran it."""

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dlbasics.sweeps.jobs import config_value
from dlbasics.sweeps.report import summarize

log = logging.getLogger("dlbasics")


class SweepSummary(Callback):
    def __init__(self, test_selected: bool = True) -> None:
        self.test_selected = test_selected

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            log.warning("no sweep dir %s: nothing to summarise", sweep_dir)
            return
        test_selected = self.test_selected and bool(config_value(config, "cv.test_selected", True))
        try:
            summarize(sweep_dir, test_selected=test_selected)
        except Exception:  # the jobs' own outputs are safe; a table bug must not hide them
            log.exception("writing the summary of %s failed; rerun dlbasics-summarize", sweep_dir)
