"""Exact resume: a run continued from a checkpoint ends where the uninterrupted run ends.

Both halves of a split run write into one run dir, and the continuation's weights and
metrics equal the uninterrupted run's bit for bit (``trainer.deterministic=true``,
dropout on, so the RNG state in the checkpoint matters as much as the shuffle order).
"""

import json
import math
from pathlib import Path

import pytest
import torch

from dlbasics.data.base import TensorBatchDataset, pass_through
from dlbasics.data.resumable import EpochShuffleSampler, ResumableLoader
from dlbasics.train import main
from tests.conftest import run_cli, run_dirs, run_main
from tests.tensorboard_runs import load_events, scalars

SMALL_RUN = (
    "data=blobs",
    "model=mlp",
    "model.net.dropout=0.3",  # draws from the RNG every step
    "trainer.deterministic=true",
    "extras.print_config=false",
    "callbacks.rich_progress_bar=null",
)


def train(log_dir: Path, *overrides: str, monkeypatch) -> Path:
    code, _ = run_main(
        main, *SMALL_RUN, f"paths.log_dir={log_dir}", *overrides, monkeypatch=monkeypatch
    )
    assert code == 0
    return run_dirs(log_dir)[-1]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def scores(run_dir: Path) -> dict[str, float]:
    record = json.loads((run_dir / "metrics.json").read_text())
    return {
        k: v for k, v in record.items() if k.startswith(("val/", "test/")) or k == "global_step"
    }


def assert_same_run(full: Path, split: Path) -> None:
    full_weights, split_weights = weights(full), weights(split)
    assert full_weights.keys() == split_weights.keys()
    for name, tensor in full_weights.items():
        assert torch.equal(tensor, split_weights[name]), name
    assert scores(full) == scores(split)


def test_a_run_continued_after_two_epochs_is_the_uninterrupted_run(tmp_path, monkeypatch):
    full = train(tmp_path / "full", "trainer.max_epochs=4", monkeypatch=monkeypatch)
    first = train(tmp_path / "split", "trainer.max_epochs=2", monkeypatch=monkeypatch)
    second = train(
        tmp_path / "split", "trainer.max_epochs=4", "ckpt_path=last", monkeypatch=monkeypatch
    )
    assert second == first and run_dirs(tmp_path / "split") == [first]  # one run dir
    assert_same_run(full, first)
    # the continuation's config is kept apart; the run's own config still says 2 epochs
    assert "max_epochs: 2" in (first / ".hydra" / "config.yaml").read_text()
    (continued,) = (first / ".hydra" / "continued").glob("*/config.yaml")
    assert "max_epochs: 4" in continued.read_text()
    # TensorBoard: one dir, every epoch's validation loss once, as in the full run
    split_losses = load_events(first).Scalars("val/loss")
    assert [event.step for event in split_losses] == sorted(scalars(load_events(full), "val/loss"))
    assert [event.value for event in split_losses] == list(
        scalars(load_events(full), "val/loss").values()
    )


def test_a_mid_epoch_checkpoint_continues_bit_exactly(tmp_path, monkeypatch):
    every_5_steps = (
        "callbacks.last_checkpoint.every_n_train_steps=5",
        "callbacks.last_checkpoint.every_n_epochs=null",
    )
    # blobs: 640 samples in batches of 64, 10 steps per epoch; step 15 is mid-epoch 1
    full = train(tmp_path / "full", *every_5_steps, "trainer.max_epochs=3", monkeypatch=monkeypatch)
    first = train(
        tmp_path / "split",
        *every_5_steps,
        "trainer.max_epochs=3",
        "trainer.max_steps=15",
        monkeypatch=monkeypatch,
    )
    checkpoint = torch.load(first / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 15
    loader_state = checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert loader_state == [{"epoch": 1, "batches": 5}]
    train(
        tmp_path / "split",
        *every_5_steps,
        "trainer.max_epochs=3",
        "ckpt_path=last",
        monkeypatch=monkeypatch,
    )
    assert_same_run(full, first)
    # the epoch cut in two logs the training accuracy of all its batches (the first half,
    # stopped by max_steps, also logged its part at step 15)
    full_acc, split_acc = (scalars(load_events(run), "train/acc") for run in (full, first))
    assert {step: split_acc[step] for step in full_acc} == full_acc


def test_ckpt_path_last_without_an_earlier_run_says_so(tmp_path, monkeypatch, capsys):
    code, stderr = run_main(
        main,
        *SMALL_RUN,
        f"paths.log_dir={tmp_path}",
        "ckpt_path=last",
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert code == 2
    assert "ckpt_path=last: no run under" in stderr and "checkpoints/last.ckpt" in stderr


@pytest.mark.filterwarnings("ignore")
def test_a_ddp_run_continued_after_one_epoch_is_the_uninterrupted_run(tmp_path):
    def ddp(log_dir: Path, *overrides: str) -> Path:
        result = run_cli("train", *SMALL_RUN, "trainer=ddp_cpu", *overrides, log_dir=log_dir)
        assert result.returncode == 0, result.stderr[-3000:]
        return run_dirs(log_dir)[-1]

    full = ddp(tmp_path / "full", "trainer.max_epochs=2")
    first = ddp(tmp_path / "split", "trainer.max_epochs=1")
    assert ddp(tmp_path / "split", "trainer.max_epochs=2", "ckpt_path=last") == first
    assert_same_run(full, first)


def test_epoch_order_depends_on_seed_and_epoch_only():
    data = TensorBatchDataset(torch.arange(10.0).unsqueeze(1), torch.zeros(10))
    sampler = EpochShuffleSampler(data, seed=3)
    sampler.set_epoch(2)
    order = list(sampler)
    torch.manual_seed(123)  # the global RNG does not matter
    again = EpochShuffleSampler(data, seed=3)
    again.set_epoch(2)
    assert list(again) == order and sorted(order) == list(range(10))
    again.set_epoch(3)
    assert list(again) != order
    # two processes: disjoint shards of the same permutation (padded to equal length)
    shards = [list(EpochShuffleSampler(data, seed=3, num_replicas=3, rank=r)) for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]
    assert set().union(*shards) == set(range(10))


def test_a_loader_restored_mid_epoch_yields_the_rest_of_that_epoch():
    data = TensorBatchDataset(torch.arange(10.0).unsqueeze(1), torch.arange(10))

    def loader_of(sampler: EpochShuffleSampler) -> ResumableLoader:
        return ResumableLoader(data, batch_size=3, sampler=sampler, collate_fn=pass_through)

    loader = loader_of(EpochShuffleSampler(data, seed=0))
    loader.sampler.set_epoch(1)
    batches = iter(loader)
    seen = [next(batches)[1].tolist() for _ in range(2)]
    state = loader.state_dict()
    assert state == {"epoch": 1, "batches": 2}
    rest = [batch[1].tolist() for batch in batches]

    restored = loader_of(EpochShuffleSampler(data, seed=0))
    restored.load_state_dict(state)
    assert [batch[1].tolist() for batch in restored] == rest
    assert restored.state_dict()["batches"] == math.ceil(10 / 3)
    assert sorted(index for batch in seen + rest for index in batch) == list(range(10))
