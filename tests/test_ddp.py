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
