"""The test split is touched once per CV sweep: by the configuration with the best mean CV
score, retrained on the standard train/val split when the sweep ends.

A multi-process configuration (``trainer=ddp_cpu``, ``trainer=ddp``) is retrained in a
process of its own, ``dlbasics.train`` on the saved config: Lightning starts DDP ranks by
re-running the command line, which at the end of a sweep is the sweep's own command, so
ranks started from the sweep's process would run the whole sweep again.
"""

import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf, open_dict

from dlbasics.compat import LAUNCHER_ENVIRONMENT
from dlbasics.errors import DlbasicsError
from dlbasics.training.run import fit_and_test
from dlbasics.utils.run_dir import load_run_config, read_metrics
from dlbasics.utils.trainer_checks import trainer_processes

log = logging.getLogger("dlbasics")

CHOSEN_FILE = "selected_job.json"  # the overrides of the job whose config was tested
CONFIG_FILE = "config.yaml"  # the selected job's config with CV off and the test on


def train_in_own_process(out_dir: Path) -> dict[str, Any]:
    """Run ``out_dir/config.yaml`` as a single ``dlbasics.train`` run in ``out_dir``, in a
    fresh process whose DDP ranks re-run that command; its output goes to this one's."""
    out_dir = out_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "dlbasics.train",
        f"--config-path={out_dir}",
        f"--config-name={Path(CONFIG_FILE).stem}",
        f"hydra.run.dir={out_dir}",
        "hydra.output_subdir=null",  # a .hydra dir would make the sweep summary list it as a job
    ]
    # a LOCAL_RANK left by an earlier job would make the new process wait as a DDP child
    environment = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENVIRONMENT}
    log.info("in its own process (its trainer starts several): %s", " ".join(command))
    finished = subprocess.run(command, env=environment, check=False)
    record = read_metrics(out_dir)
    if finished.returncode != 0 or record is None:
        raise DlbasicsError(
            f"the test run of the selected configuration failed (exit {finished.returncode}); "
            f"its log is in {out_dir}; rerun it with: {' '.join(command)}"
        )
    return record


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
        cfg.ckpt_path = None  # a fresh training run, whatever the sweep's jobs continued from
        cfg.paths.output_dir = str(out_dir)
    OmegaConf.save(cfg, out_dir / CONFIG_FILE)
    chosen.write_text(json.dumps(dict(overrides), indent=2) + "\n")
    log.info("testing the selected configuration (job %s) once in %s", job_dir.name, out_dir)
    if trainer_processes(cfg.trainer) == 1:
        return fit_and_test(cfg)
    return train_in_own_process(out_dir)


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
