"""A real signal sent to a real training process: a checkpoint at the current step, a
record of the stop, one line on how to continue, and the signal's exit status."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from dlbasics.callbacks.interruption import TrainingInterrupted
from dlbasics.training import run
from dlbasics.training.run import resume_callbacks
from tests.conftest import REPO_ROOT, SignalAfterLastBatch, cli_command, run_cli, run_dirs

STEPS_PER_EPOCH = 20_000 // 64 + 1  # data.num_train=20000 in batches of 64
LONG_RUN = (
    "data=blobs",
    "data.num_train=20000",
    "model=mlp",
    "model.net.dropout=0.3",
    "trainer.deterministic=true",
    "trainer.max_epochs=3",
    "extras.print_config=false",
    "callbacks.rich_progress_bar=null",
)


def start(log_dir: Path, *overrides: str) -> subprocess.Popen:
    command = cli_command("train", log_dir, overrides)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def signal_after_first_epoch(
    process: subprocess.Popen, log_dir: Path, signum: int, run_part: str = ""
) -> str:
    """Wait for the first epoch's last.ckpt (of ``run_part``, e.g. a CV fold's dir), send
    ``signum`` (now mid-epoch 1), and return the process's stderr once it has ended."""
    deadline = time.monotonic() + 240
    while not list(log_dir.glob(f"train/*/*/**/{run_part}checkpoints/last.ckpt")):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "training never saved its first checkpoint"
        time.sleep(0.2)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=240)
    return stderr


def interrupted_record(run_dir: Path) -> dict:
    record = json.loads((run_dir / "job.json").read_text())
    assert record["status"] == "interrupted"
    checkpoint = torch.load(record["checkpoint"], weights_only=True)
    assert checkpoint["global_step"] == record["step"] > STEPS_PER_EPOCH - 1  # after epoch 0
    assert Path(record["checkpoint"]) == run_dir / "checkpoints" / "last.ckpt"
    assert not (run_dir / "metrics.json").exists()  # an interrupted run is no result
    return record


@pytest.mark.filterwarnings("ignore")
def test_sigterm_saves_the_current_step_and_the_printed_command_finishes_the_run(tmp_path):
    process = start(tmp_path / "split", *LONG_RUN)
    stderr = signal_after_first_epoch(process, tmp_path / "split", signal.SIGTERM)
    assert process.returncode == 143, stderr[-3000:]
    (run_dir,) = run_dirs(tmp_path / "split")
    record = interrupted_record(run_dir)
    assert record["signal"] == "SIGTERM"
    (line,) = [line for line in stderr.splitlines() if "to continue:" in line]
    command = line.split("to continue: dlbasics-train ")[1].split()
    assert f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}" in command

    overrides = [item for item in command if not item.startswith("paths.log_dir=")]
    continued = run_cli("train", *overrides, log_dir=tmp_path / "split")
    assert continued.returncode == 0, continued.stderr[-3000:]
    assert run_dirs(tmp_path / "split") == [run_dir]
    assert json.loads((run_dir / "job.json").read_text())["status"] == "completed"

    uninterrupted = run_cli("train", *LONG_RUN, log_dir=tmp_path / "full")
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    (full_dir,) = run_dirs(tmp_path / "full")
    final = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    expected = torch.load(full_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(final[name], expected[name]) for name in expected)
    scores = json.loads((run_dir / "metrics.json").read_text())
    full_scores = json.loads((full_dir / "metrics.json").read_text())
    assert scores["test/acc"] == full_scores["test/acc"]
    assert scores["global_step"] == full_scores["global_step"] == 3 * STEPS_PER_EPOCH


@pytest.mark.filterwarnings("ignore")
def test_sigint_stops_with_status_130_and_a_checkpoint(tmp_path):
    process = start(tmp_path, *LONG_RUN)
    stderr = signal_after_first_epoch(process, tmp_path, signal.SIGINT)
    assert process.returncode == 130, stderr[-3000:]
    (run_dir,) = run_dirs(tmp_path)
    assert interrupted_record(run_dir)["signal"] == "SIGINT"


@pytest.mark.filterwarnings("ignore")
def test_a_resumed_multirun_continues_the_interrupted_job_from_its_checkpoint(tmp_path):
    sweep = ("-m", *LONG_RUN, "trainer.max_epochs=2", "seed=0,1")
    process = start(tmp_path, *sweep)
    stderr = signal_after_first_epoch(process, tmp_path, signal.SIGTERM)
    assert process.returncode == 143, stderr[-3000:]
    assert "run the sweep's command again with resume=true" in stderr
    (sweep_dir,) = (tmp_path / "train" / "multiruns").glob("*")
    interrupted_step = interrupted_record(sweep_dir / "0")["step"]
    assert not (sweep_dir / "1").exists()

    resumed = run_cli("train", *sweep, "resume=true", log_dir=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"continuing {sweep_dir / '0'} from" in resumed.stdout + resumed.stderr
    for job in ("0", "1"):
        assert json.loads((sweep_dir / job / "job.json").read_text())["status"] == "completed"
        record = json.loads((sweep_dir / job / "metrics.json").read_text())
        assert record["global_step"] == 2 * STEPS_PER_EPOCH
    assert interrupted_step < 2 * STEPS_PER_EPOCH
    summary = (sweep_dir / "summary.csv").read_text().splitlines()
    assert len(summary) == 3  # header + two jobs


@pytest.mark.filterwarnings("ignore")
def test_an_interrupted_cv_run_keeps_its_finished_folds_and_continues_the_stopped_one(tmp_path):
    cv_run = (*LONG_RUN, "cv.folds=2")  # 3 epochs: the signal lands mid-fold, not at its end
    process = start(tmp_path / "split", *cv_run)
    stderr = signal_after_first_epoch(process, tmp_path / "split", signal.SIGTERM, "fold_1/")
    assert process.returncode == 143, stderr[-3000:]
    (run_dir,) = run_dirs(tmp_path / "split")
    record = json.loads((run_dir / "job.json").read_text())
    assert record["status"] == "interrupted"
    assert Path(record["checkpoint"]) == run_dir / "fold_1" / "checkpoints" / "last.ckpt"
    assert (run_dir / "fold_0" / "metrics.json").is_file()  # fold 0 had finished
    assert not (run_dir / "fold_1" / "metrics.json").exists()
    assert not (run_dir / "metrics.json").exists()
    fold_0 = (run_dir / "fold_0" / "checkpoints" / "last.ckpt").read_bytes()

    continued = run_cli("train", *cv_run, "ckpt_path=last", log_dir=tmp_path / "split")
    assert continued.returncode == 0, continued.stderr[-3000:]
    assert "fold_0: finished before" in continued.stdout + continued.stderr
    assert run_dirs(tmp_path / "split") == [run_dir]
    assert (run_dir / "fold_0" / "checkpoints" / "last.ckpt").read_bytes() == fold_0  # kept

    uninterrupted = run_cli("train", *cv_run, log_dir=tmp_path / "full")
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    (full_dir,) = run_dirs(tmp_path / "full")
    final = torch.load(run_dir / "fold_1" / "checkpoints" / "last.ckpt", weights_only=True)
    expected = torch.load(full_dir / "fold_1" / "checkpoints" / "last.ckpt", weights_only=True)
    assert final["global_step"] == expected["global_step"]
    assert all(torch.equal(final["state_dict"][n], w) for n, w in expected["state_dict"].items())
    scores = json.loads((run_dir / "metrics.json").read_text())
    full_scores = json.loads((full_dir / "metrics.json").read_text())
    assert scores["cv_folds"] == full_scores["cv_folds"]  # both folds, number for number
    assert scores["val/acc"] == full_scores["val/acc"]


def test_a_signal_after_the_last_batch_stops_the_run_before_its_test(
    compose_config, monkeypatch, tmp_path
):
    late = SignalAfterLastBatch()
    monkeypatch.setattr(run, "resume_callbacks", lambda cfg: [*resume_callbacks(cfg), late])
    overrides = ["trainer=cpu", "trainer.max_epochs=2", "callbacks=none", "logger=csv", "test=true"]
    with pytest.raises(TrainingInterrupted, match="SIGUSR1") as stop:
        run.fit_and_test(compose_config(overrides))
    assert stop.value.checkpoint == str(tmp_path / "checkpoints" / "last.ckpt")
    assert not (tmp_path / "metrics.json").exists()  # not tested: no result yet

    record = run.fit_and_test(compose_config([*overrides, "ckpt_path=last"]))
    assert record["epochs"] == 2 and "test/loss" in record  # nothing trained again; tested
    assert record["global_step"] == torch.load(stop.value.checkpoint)["global_step"]
