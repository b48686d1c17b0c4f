"""Simulated multi-GPU training: two CPU processes (DDP over gloo) through the CLI."""

import json
import math

import pytest

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
