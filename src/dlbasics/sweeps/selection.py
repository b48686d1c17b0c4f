"""The test split is touched once per CV sweep: by the configuration with the best mean
CV score, retrained on the standard train/val split, when the sweep ends."""

import copy
import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf, open_dict

from dlbasics.sweeps.summary import Job, sort_jobs
from dlbasics.utils.run_dir import METRICS_FILE

log = logging.getLogger("dlbasics")

SELECTED_DIR = "selected_test"
CHOSEN_FILE = "selected_job.json"  # the overrides of the job whose config was tested


def is_cv_sweep(jobs: list[Job]) -> bool:
    return any("cv_folds" in job.metrics for job in jobs)


def test_best(sweep_dir: Path, jobs: list[Job]) -> tuple[Job, dict[str, Any]] | None:
    """Train the best CV configuration once on train/val and test it once; reuse the
    result of a resumed sweep only if it belongs to the same selected configuration."""
    ranked = [
        j
        for j in sort_jobs(jobs)
        if "cv_folds" in j.metrics and j.monitor and j.number(j.monitor) is not None
    ]
    if not ranked:
        return None
    best = ranked[0]
    out_dir = Path(sweep_dir) / SELECTED_DIR
    done, chosen = out_dir / METRICS_FILE, out_dir / CHOSEN_FILE
    if done.is_file() and chosen.is_file() and json.loads(chosen.read_text()) == best.overrides:
        return best, json.loads(done.read_text())
    from dlbasics.train import train  # the entry point's own job, with CV switched off

    cfg = copy.deepcopy(OmegaConf.load(best.path / ".hydra" / "config.yaml"))
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.cv.folds = 0
        cfg.test = True
        cfg.paths.output_dir = str(out_dir)
    OmegaConf.save(cfg, out_dir / "config.yaml")
    chosen.write_text(json.dumps(best.overrides, indent=2) + "\n")
    log.info("testing the selected configuration (job %s) once in %s", best.name, out_dir)
    return best, train(cfg)


def selection_markdown(result: tuple[Job, dict[str, Any]] | None) -> str:
    if result is None:
        return "## Selected configuration\n\nNo CV job finished; nothing was tested."
    best, record = result
    monitor = best.monitor or ""
    settings = " ".join(f"{k}={v}" for k, v in best.overrides.items()) or "(defaults)"
    tests = ", ".join(
        f"{k}={v:.4f}"
        for k, v in sorted(record.items())
        if k.startswith("test/") and isinstance(v, float)
    )
    return (
        f"## Selected configuration\n\nJob {best.name} ({settings}) has the best mean CV "
        f"{monitor} = {best.number(monitor):.4f} ± {best.number(monitor + '_std') or 0:.4f}. "
        f"Retrained once on the train split (validation split for checkpointing) and "
        f"tested once: {tests} (in `{SELECTED_DIR}/`)."
    )
