"""DDP evaluation counts every sample exactly once: same numbers as one process."""

import csv
import json
from pathlib import Path

import pytest
import torch
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler

from dlbasics.data.sharding import eval_sampler, even_batch_size
from dlbasics.errors import DataError
from tests.conftest import run_cli, run_dirs


def shard_batches(total: int, world_size: int, batch_size: int) -> list[list[list[int]]]:
    size = even_batch_size(total, world_size, batch_size)
    data = range(total)
    shards = [
        list(UnrepeatedDistributedSampler(data, world_size, rank, shuffle=False))
        for rank in range(world_size)
    ]
    return [[shard[i : i + size] for i in range(0, len(shard), size)] for shard in shards]


@pytest.mark.parametrize(
    ("total", "world_size", "batch_size"),
    [
        (201, 2, 100),
        (201, 2, 64),
        (200, 2, 100),
        (13, 4, 3),
        (25, 3, 4),
        (7, 2, 1),
        (12 * 5 + 1, 5, 4),
    ],
)
def test_shards_cover_every_sample_once_with_equal_batch_counts(total, world_size, batch_size):
    batches = shard_batches(total, world_size, batch_size)
    seen = sorted(i for shard in batches for batch in shard for i in batch)
    assert seen == list(range(total))
    assert len({len(shard) for shard in batches}) == 1  # no process waits for another


def test_batch_size_is_only_changed_when_counts_would_differ():
    assert even_batch_size(200, 2, 100) == 100  # even split
    assert even_batch_size(201, 2, 64) == 64  # 100 and 101 samples: 2 batches each
    assert even_batch_size(201, 2, 100) == 101  # 100 and 101 samples would give 1 and 2
    with pytest.raises(DataError, match="3 samples cannot be split across 4 processes"):
        even_batch_size(3, 4, 8)


def test_single_process_keeps_the_plain_loader():
    assert eval_sampler(range(10), 4, trainer=None) == (None, 4)


def _test_metrics(run_dir: Path) -> dict[str, float]:
    record = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in record.items() if k.startswith("test/")}


def _report(run_dir: Path) -> list[dict]:
    with (run_dir / "report.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_ddp_test_metrics_equal_one_process_evaluation(tmp_path):
    """A 2-process gloo run tests its best checkpoint on 201 samples; re-testing the same
    checkpoint in one process must give the same numbers (padding would count 1 sample twice)."""
    overrides = [
        "experiment=multilabel/synthetic_mlp",
        "trainer=ddp_cpu",
        "trainer.max_epochs=1",
        "data.num_val=161",
        "data.num_test=201",
        "data.eval_batch_size=100",
        "logger=csv",
        "callbacks=[model_checkpoint,report]",
    ]
    ddp = run_cli("train", *overrides, log_dir=tmp_path)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (train_dir,) = run_dirs(tmp_path, "train")
    ddp_metrics = _test_metrics(train_dir)
    best = json.loads((train_dir / "metrics.json").read_text())["best_ckpt"]
    single = run_cli("eval", f"ckpt_path={best}", log_dir=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    (eval_dir,) = run_dirs(tmp_path, "eval")
    single_metrics = _test_metrics(eval_dir)
    assert set(ddp_metrics) == set(single_metrics) and "test/hamming" in ddp_metrics
    for name, value in single_metrics.items():
        assert ddp_metrics[name] == pytest.approx(value, abs=1e-6), name
    ddp_report, single_report = _report(train_dir), _report(eval_dir)
    assert ddp_report == single_report
    checkpoint = torch.load(best, weights_only=True)  # loads without pickled objects
    assert "thresholds" in checkpoint["state_dict"]
