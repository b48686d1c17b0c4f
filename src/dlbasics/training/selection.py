"""The test split is touched once per CV sweep: by the configuration with the best mean CV
score, retrained on the standard train/val split when the sweep ends."""

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf, open_dict

from dlbasics.training.run import fit_and_test
from dlbasics.utils.run_dir import load_run_config, read_metrics

log = logging.getLogger("dlbasics")

CHOSEN_FILE = "selected_job.json"  # the overrides of the job whose config was tested


def retrain_and_test(job_dir: Path, overrides: Mapping[str, str], out_dir: Path) -> dict[str, Any]:
    """Train the configuration of the CV job in ``job_dir`` once without CV and test it once,
    in ``out_dir``. A resumed sweep reuses the result only if ``out_dir`` tested the same
    overrides."""
    out_dir = Path(out_dir)
    chosen = out_dir / CHOSEN_FILE
    done = read_metrics(out_dir)
    if done is not None and chosen.is_file() and json.loads(chosen.read_text()) == dict(overrides):
        return done
    cfg = load_run_config(job_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.cv.folds = 0
        cfg.test = True
        cfg.paths.output_dir = str(out_dir)
    OmegaConf.save(cfg, out_dir / "config.yaml")
    chosen.write_text(json.dumps(dict(overrides), indent=2) + "\n")
    log.info("testing the selected configuration (job %s) once in %s", job_dir.name, out_dir)
    return fit_and_test(cfg)


def selection_markdown(
    job: str,
    overrides: Mapping[str, str],
    monitor: str,
    score: tuple[float, float],
    record: Mapping[str, Any],
    out_dir: str,
) -> str:
    """The "Selected configuration" paragraph of a CV sweep's summary.md."""
    settings = " ".join(f"{k}={v}" for k, v in overrides.items()) or "(defaults)"
    tests = ", ".join(
        f"{k}={v:.4f}"
        for k, v in sorted(record.items())
        if k.startswith("test/") and isinstance(v, float)
    )
    return (
        f"## Selected configuration\n\nJob {job} ({settings}) has the best mean CV {monitor} = "
        f"{score[0]:.4f} ± {score[1]:.4f}. Retrained once on the train split (validation split "
        f"for checkpointing) and tested once: {tests} (in `{out_dir}/`)."
    )
