"""Simulated multi-GPU training: two CPU processes (DDP over gloo) through the CLI."""

import json
import math
import subprocess
import sys
import time

import optuna
import pytest
from lightning_fabric.strategies.launchers.subprocess_script import _ChildProcessObserver

from dlbasics.compat import reap_ddp_children
from tests.conftest import make_fake_idx_set, run_cli, run_dirs


@pytest.mark.filterwarnings("ignore")
def test_ddp_cpu_gives_each_process_its_own_shard(tmp_path):
    data_dir = tmp_path / "data"
    make_fake_idx_set(data_dir, "MNIST", 600, 200)
    result = run_cli(
        "train",
        "trainer=ddp_cpu",
        "data=mnist",
        "model=softmax",
        f"paths.data_dir={data_dir}",
        "data.val_size=100",
        "data.batch_size=32",
        "trainer.max_epochs=1",
        log_dir=tmp_path / "logs",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(tmp_path / "logs")  # child ranks write into the same run dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # 500 training images split over 2 ranks: 250 each, in batches of 32.
    assert metrics["global_step"] == math.ceil(250 / 32)
    assert metrics["test/acc"] > 0.3
    assert len(list((run_dir / "checkpoints").glob("*.ckpt"))) == 2  # best + last, once


@pytest.mark.filterwarnings("ignore")
def test_a_multirun_of_ddp_jobs_runs_each_job_once_in_its_own_dir(tmp_path):
    sweep = (
        "-m",
        "trainer=ddp_cpu",
        "data=blobs",  # 640 training samples
        "model=mlp",
        "trainer.max_epochs=1",
        "extras.print_config=false",
        "seed=0,1",
    )
    result = run_cli("train", *sweep, log_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "train" / "multiruns").glob("*")  # the children made none
    assert not (tmp_path / "train" / "runs").exists()
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()) == [
        "0",
        "1",
    ]
    for job in ("0", "1"):
        metrics = json.loads((sweep_dir / job / "metrics.json").read_text())
        # each rank trains on its half: 320 samples, 5 batches of 64; both ranks: 640
        assert metrics["global_step"] == 640 // 2 // 64
        assert (sweep_dir / job / "train_ddp_process_1.log").is_file()  # rank 1 ran here
        assert json.loads((sweep_dir / job / "job.json").read_text())["status"] == "completed"
    assert len((sweep_dir / "summary.csv").read_text().splitlines()) == 3

    again = run_cli("train", *sweep, "resume=true", log_dir=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("skipping") + again.stderr.count("skipping") == 2
    assert len(list((tmp_path / "train" / "multiruns").glob("*"))) == 1


DDP_CV_SWEEP = (
    "-m",
    "trainer=ddp_cpu",
    "cv.folds=2",
    "data=blobs",  # 640 training samples, 160 validation samples
    "model=mlp",
    "trainer.max_epochs=1",
    "extras.print_config=false",
    "seed=0,1",
)


@pytest.mark.filterwarnings("ignore")
def test_a_cv_sweep_of_ddp_jobs_tests_the_selected_configuration_once(tmp_path):
    result = run_cli("train", *DDP_CV_SWEEP, log_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # neither the jobs' ranks nor the selected test's ranks started a sweep of their own
    (sweep_dir,) = (tmp_path / "train" / "multiruns").glob("*")
    assert not (tmp_path / "train" / "runs").exists()
    for job in ("0", "1"):
        metrics = json.loads((sweep_dir / job / "metrics.json").read_text())
        assert metrics["cv_k"] == 2 and len(metrics["cv_folds"]) == 2
        assert sorted(p.name for p in (sweep_dir / job).glob("fold_*")) == ["fold_0", "fold_1"]
        assert (sweep_dir / job / "train_ddp_process_1.log").is_file()
    selected = sweep_dir / "selected_test"
    tested = json.loads((selected / "metrics.json").read_text())
    assert tested["global_step"] == 640 // 2 // 64  # the train split, sharded over 2 ranks
    assert 0.0 <= tested["test/acc"] <= 1.0 and not any(k.startswith("cv_") for k in tested)
    assert (selected / "train_ddp_process_1.log").is_file()  # rank 1 tested here
    summary = (sweep_dir / "summary.md").read_text()
    assert "2 jobs: 2 completed" in summary  # the selected test is not listed as a job
    assert f"test/acc={tested['test/acc']:.4f}" in summary.split("## Selected configuration")[1]

    again = run_cli("train", *DDP_CV_SWEEP, "resume=true", log_dir=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(list((tmp_path / "train" / "multiruns").glob("*"))) == 1
    assert json.loads((selected / "metrics.json").read_text()) == tested  # not run again


@pytest.mark.filterwarnings("ignore")
def test_an_optuna_search_of_ddp_jobs_runs_each_trial_once(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    result = run_cli(
        "train",
        "hparams_search=optuna",  # sets hydra.mode=MULTIRUN in the config, not with -m
        "trainer=ddp_cpu",
        "data=blobs",
        "model=mlp",
        "callbacks=none",
        "trainer.max_epochs=1",
        "extras.print_config=false",
        "hydra.sweeper.n_trials=2",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=ddp",
        log_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "train" / "multiruns").glob("*")  # ranks ran no sweep
    assert sorted(p.name for p in sweep_dir.iterdir() if p.name.isdigit()) == ["0", "1"]
    for trial in ("0", "1"):
        assert json.loads((sweep_dir / trial / "metrics.json").read_text())["global_step"] == 5
        assert (sweep_dir / trial / "train_ddp_process_1.log").is_file()
    study = optuna.load_study(study_name="ddp", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]


def test_a_rank_that_fails_after_its_job_does_not_kill_the_sweep():
    """Lightning's observer SIGKILLs its main process once a child exits non-zero; reaping
    the job's children stops it. A stand-in process plays the sweep's, so a failure here
    kills it, not pytest."""
    sweep = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    failing = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    observer = _ChildProcessObserver(main_pid=sweep.pid, child_processes=[failing], sleep_period=1)
    observer.start()
    try:
        assert reap_ddp_children() == [3]
        time.sleep(2.5)  # two more wakes of the observer
        assert sweep.poll() is None  # still alive
        assert not observer.is_alive()
    finally:
        sweep.kill()
        sweep.wait()
