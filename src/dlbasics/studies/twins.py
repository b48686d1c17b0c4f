"""How closely two runs of a sweep agree: the largest difference between their loss curves,
and both curves in one figure (``experiment=scratch/versus_autograd``)."""

import json
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dlbasics.callbacks.loss_history import COLUMNS, HISTORY_FILE, read_history
from dlbasics.errors import DataError
from dlbasics.studies.regression_figures import run_dirs, write_overlay

AGREEMENT_FILE = "curve_agreement.json"


def curve_agreement(run_a: Path, run_b: Path) -> dict:
    """Per loss column: the absolute difference at every epoch and the largest one."""
    a, b = read_history(run_a), read_history(run_b)
    if a["epoch"] != b["epoch"]:
        raise DataError(f"{run_a} and {run_b} logged different epochs; compare like with like")
    differences = {
        column: [abs(x - y) for x, y in zip(a[column], b[column], strict=True)]
        for column in COLUMNS[1:]
    }
    return {
        "epochs": len(a["epoch"]),
        "abs_diff": differences,
        "first_epoch_abs_diff": {column: values[0] for column, values in differences.items()},
        "max_abs_diff": {column: max(values) for column, values in differences.items()},
    }


class CurveAgreement(Callback):
    """When a two-job multirun ends: ``curve_agreement.json`` and ``loss_curves.png``."""

    def __init__(self, label: str = "model._target_") -> None:
        self.label = label

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        runs = run_dirs([sweep_dir], HISTORY_FILE)
        if len(runs) != 2:
            raise DataError(f"{sweep_dir}: curve agreement compares two runs, found {len(runs)}")
        agreement = curve_agreement(*runs)
        (sweep_dir / AGREEMENT_FILE).write_text(json.dumps(agreement, indent=2) + "\n")
        write_overlay("losses", [sweep_dir], self.label, sweep_dir / "loss_curves.png")
        print(f"curve agreement: {agreement}")
