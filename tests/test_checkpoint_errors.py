"""Checkpoints are written whole or not at all, and a bad one stops with one message."""

import errno
import os
import shutil
from pathlib import Path

import pytest
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from dlbasics.errors import ConfigError
from dlbasics.eval import main as eval_main
from dlbasics.predict import main as predict_main
from dlbasics.train import main as train_main
from dlbasics.utils.checkpoint_io import AtomicCheckpointIO, temporary_path
from dlbasics.utils.checkpoints import check_checkpoint
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer
from tests.conftest import run_dirs, run_main

pytestmark = pytest.mark.filterwarnings("ignore")

QUICK = ["trainer=cpu", "trainer.max_epochs=1", "logger=csv", "extras.print_config=false"]


@pytest.fixture(scope="module")
def softmax_run(tmp_path_factory) -> Path:
    """One finished blobs run of model=softmax; its checkpoints/last.ckpt is the good file."""
    log_dir = tmp_path_factory.mktemp("ckpt") / "logs"
    with pytest.MonkeyPatch.context() as monkeypatch:
        code, _ = run_main(
            train_main,
            f"paths.log_dir={log_dir}",
            "data=blobs",
            "model=softmax",
            *QUICK,
            monkeypatch=monkeypatch,
        )
    assert code == 0
    (run_dir,) = run_dirs(log_dir)
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    return run_dir


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of the run dir a test may damage."""
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def test_build_trainer_writes_checkpoints_through_the_atomic_io(compose_config):
    cfg = compose_config(["data=blobs", "model=softmax", *QUICK])
    build_datamodule(cfg)
    trainer = build_trainer(cfg)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_a_failing_write_leaves_the_good_checkpoint_and_no_temp_file(
    softmax_run, tmp_path, compose_config, monkeypatch
):
    """A second save over last.ckpt that dies half-way (a full disk: half the bytes, then
    ENOSPC) leaves the old file byte for byte, loadable, and no <name>.tmp beside it."""
    run_dir = copy_run(softmax_run, tmp_path)
    last = run_dir / "checkpoints" / "last.ckpt"
    good = last.read_bytes()
    cfg = compose_config(["data=blobs", "model=softmax", *QUICK])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg)
    trainer = build_trainer(cfg, callbacks=[], enable_progress_bar=False)
    trainer.fit(model, datamodule=datamodule)
    real_save = torch.save

    def save_half_then_fail(obj, handle, *args, **kwargs):
        real_save(obj, handle, *args, **kwargs)
        handle.seek(len(good) // 2)
        handle.truncate()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        trainer.save_checkpoint(last)
    monkeypatch.undo()
    assert last.read_bytes() == good
    assert torch.load(last, map_location="cpu", weights_only=True)["epoch"] == 0
    assert not temporary_path(last).exists()
    assert sorted(p.name for p in last.parent.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    trainer.save_checkpoint(last)  # a save that succeeds replaces it
    assert last.read_bytes() != good and not temporary_path(last).exists()
    assert "state_dict" in torch.load(last, map_location="cpu", weights_only=True)


def test_lightning_io_truncates_a_good_file_when_its_temp_dir_is_another_filesystem(
    softmax_run, tmp_path, monkeypatch
):
    """Why AtomicCheckpointIO exists: Lightning's TorchCheckpointIO stages the file in the
    system temp dir; across filesystems ``os.rename`` fails (EXDEV) and ``shutil.move``
    copies into the open target, so a disk that fills half-way truncates the good file.
    The same save through AtomicCheckpointIO never crosses filesystems and completes."""
    last = copy_run(softmax_run, tmp_path) / "checkpoints" / "last.ckpt"
    good = last.read_bytes()
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)
    real_rename = os.rename

    def rename_across_devices(source, target, *args, **kwargs):
        if Path(target) == last:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(source, target, *args, **kwargs)

    def copy_half_then_fill_the_disk(source, target, *args, **kwargs):
        Path(target).write_bytes(Path(source).read_bytes()[: len(good) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "rename", rename_across_devices)
    monkeypatch.setattr(shutil, "copyfile", copy_half_then_fill_the_disk)
    with pytest.raises(OSError, match="No space left"):
        TorchCheckpointIO().save_checkpoint(checkpoint, last)
    assert 0 < len(last.read_bytes()) < len(good)  # the good file is gone
    AtomicCheckpointIO().save_checkpoint(checkpoint, last)
    assert torch.load(last, map_location="cpu", weights_only=True)["epoch"] == 0


def damaged(kind: str, last: Path) -> None:
    """Turn ``last`` into a truncated or a foreign file."""
    if kind == "truncated":
        last.write_bytes(last.read_bytes()[:3000])
    else:  # a plain torch.save of the weights, as a user might have written
        state = torch.load(last, map_location="cpu", weights_only=True)["state_dict"]
        torch.save(state, last)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("truncated", ["is not a readable checkpoint", "truncated or not a checkpoint"]),
        ("foreign", ["no Lightning checkpoint", "no state_dict", "pytorch-lightning_version"]),
    ],
)
def test_check_checkpoint_names_a_truncated_or_foreign_file(
    kind, words, softmax_run, tmp_path, compose_config
):
    last = copy_run(softmax_run, tmp_path) / "checkpoints" / "last.ckpt"
    damaged(kind, last)
    cfg = compose_config(["data=blobs", "model=softmax", *QUICK])
    build_datamodule(cfg)
    with pytest.raises(ConfigError) as raised:
        check_checkpoint(last, build_model(cfg))
    message = str(raised.value)
    assert f"ckpt_path={last}" in message
    for word in words:
        assert word in message


def test_check_checkpoint_names_another_model_config(softmax_run, compose_config):
    """model=mlp resuming from a softmax checkpoint: the first missing key, the first
    unexpected one, and the run (and its model=) the checkpoint came from."""
    last = softmax_run / "checkpoints" / "last.ckpt"
    cfg = compose_config(["data=blobs", "model=mlp", *QUICK])
    build_datamodule(cfg)
    with pytest.raises(ConfigError) as raised:
        check_checkpoint(last, build_model(cfg))
    message = str(raised.value)
    assert "a checkpoint of a different model config" in message
    assert "net.layers.0.weight is not in it" in message  # the MLP's first layer
    assert "net.linear.weight is not in the model" in message  # the softmax regression's
    assert f"run in {softmax_run} (model=softmax)" in message
    assert "dlbasics.nets.SoftmaxRegression" in message


def test_check_checkpoint_names_a_shape_mismatch(softmax_run, tmp_path, compose_config):
    """The same keys with other sizes (more classes): the tensor and both shapes."""
    cfg = compose_config(
        ["data=blobs", "data.centers=[[0,0],[1,1],[2,2],[3,3],[4,4]]", "model=softmax", *QUICK]
    )
    build_datamodule(cfg)
    model = build_model(cfg)
    with pytest.raises(ConfigError) as raised:
        check_checkpoint(softmax_run / "checkpoints" / "last.ckpt", model)
    assert "net.linear.weight has shape [4, 2] there and [5, 2] in the model" in str(raised.value)


def test_check_checkpoint_returns_a_matching_checkpoint(softmax_run, compose_config):
    cfg = compose_config(["data=blobs", "model=softmax", *QUICK])
    build_datamodule(cfg)
    model = build_model(cfg)
    checkpoint = check_checkpoint(softmax_run / "checkpoints" / "last.ckpt", model)
    assert checkpoint["state_dict"].keys() == model.state_dict().keys()


@pytest.mark.parametrize("main", [eval_main, predict_main], ids=["eval", "predict"])
@pytest.mark.parametrize("kind", ["truncated", "foreign"])
def test_eval_and_predict_report_a_bad_checkpoint(
    main, kind, softmax_run, tmp_path, capsys, monkeypatch
):
    last = copy_run(softmax_run, tmp_path) / "checkpoints" / "last.ckpt"
    damaged(kind, last)
    code, stderr = run_main(
        main,
        f"paths.log_dir={tmp_path / 'logs'}",
        f"ckpt_path={last}",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert f"error: ckpt_path={last}" in stderr
    assert "Traceback" not in stderr
