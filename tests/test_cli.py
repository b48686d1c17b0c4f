"""End to end through the command line: train → eval → predict, and bad input."""

import csv
import json
import logging
import math
from pathlib import Path

import pytest
import torch

from dlbasics.eval import main as eval_main
from dlbasics.predict import main as predict_main
from dlbasics.train import main as train_main
from dlbasics.train import train
from tests.conftest import file_contents, make_fake_idx_set, run_cli, run_dirs, run_main

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict[str, Path]:
    """One finished MNIST-format training run on generated IDX files, shared by the tests."""
    root = tmp_path_factory.mktemp("cli")
    data_dir = root / "data"
    make_fake_idx_set(data_dir, "MNIST", 600, 200)
    log_dir = root / "logs"
    result = run_cli(
        "train",
        "model=mlp",
        "data=mnist",
        f"paths.data_dir={data_dir}",
        "data.val_size=100",
        "trainer=cpu",
        "trainer.max_epochs=2",
        "logger=many",
        log_dir=log_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(log_dir)
    return {
        "root": root,
        "data_dir": data_dir,
        "log_dir": log_dir,
        "run_dir": run_dir,
        "stdout": result.stdout + result.stderr,
    }


def test_train_writes_a_complete_run_dir(workspace):
    run_dir = workspace["run_dir"]
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert (run_dir / "csv" / "metrics.csv").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["global_step"] == 2 * math.ceil(500 / 256)
    assert Path(metrics["best_ckpt"]).is_file() and metrics["best_ckpt"].startswith(str(run_dir))
    assert metrics["test/acc"] > 0.5  # the generated classes are separable
    assert metrics["val/acc_best"] >= metrics["val/acc"] - 1e-9
    assert str(run_dir) in workspace["stdout"]  # the run dir is printed at the end


def test_the_composed_config_is_shown_and_kept_in_the_run_log(workspace):
    """extras.print_config: one tree on the console, the same text in <run dir>/train.log."""
    run_log = (workspace["run_dir"] / "train.log").read_text()
    tree = run_log[run_log.index("composed config:") :].split("\n[", 1)[0]
    assert "├── data" in tree and "_target_: dlbasics.data.MNISTDataModule" in tree
    assert "num_features: 784" in tree  # data_info, as the DataModule filled it
    assert tree.strip() in workspace["stdout"]


@pytest.mark.parametrize("shown", [True, False])
def test_one_key_switches_the_config_tree(compose_config, caplog, shown):
    cfg = compose_config(
        [
            f"extras.print_config={shown}",
            "trainer=cpu",
            "trainer.max_epochs=1",
            "callbacks=none",
            "logger=csv",
            "test=false",
        ]
    )
    with caplog.at_level(logging.INFO, logger="dlbasics"):
        train(cfg)
    assert ("composed config:" in caplog.text) is shown


def test_checkpoint_loads_with_weights_only(workspace):
    metrics = json.loads((workspace["run_dir"] / "metrics.json").read_text())
    checkpoint = torch.load(metrics["best_ckpt"], weights_only=True, map_location="cpu")
    assert checkpoint["hyper_parameters"]["net"]["_target_"] == "dlbasics.nets.MLP"
    assert checkpoint["hyper_parameters"]["net"]["in_features"] == 784


def test_eval_reuses_the_run_config_and_reproduces_test_numbers(workspace):
    train_metrics = json.loads((workspace["run_dir"] / "metrics.json").read_text())
    result = run_cli(
        "eval", f"ckpt_path={train_metrics['best_ckpt']}", log_dir=workspace["log_dir"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (eval_dir,) = [
        d for d in run_dirs(workspace["log_dir"], "eval") if (d / "metrics.json").is_file()
    ]
    eval_metrics = json.loads((eval_dir / "metrics.json").read_text())
    test_keys = [k for k in train_metrics if k.startswith("test/")]
    assert len(test_keys) >= 8
    for key in test_keys:
        assert eval_metrics[key] == pytest.approx(train_metrics[key], abs=1e-6), key


def test_predict_writes_one_row_per_test_image(workspace):
    train_metrics = json.loads((workspace["run_dir"] / "metrics.json").read_text())
    result = run_cli(
        "predict", f"ckpt_path={train_metrics['best_ckpt']}", log_dir=workspace["log_dir"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (predict_dir,) = [
        d for d in run_dirs(workspace["log_dir"], "predict") if (d / "predictions.csv").is_file()
    ]
    with (predict_dir / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 200
    assert set(rows[0]) >= {"index", "predicted", "predicted_name", "probability"}
    assert all(0.0 <= float(r["probability"]) <= 1.0 for r in rows)
    correct = sum(r["predicted"] == r["target"] for r in rows) / len(rows)
    assert correct == pytest.approx(train_metrics["test/acc"], abs=1e-6)


BAD_INPUTS = {
    "unknown_group_option": (["model=resnet9000"], "Could not find 'model/resnet9000'"),
    "typo_key": (["optimizer.lrr=0.1"], "Key 'lrr' is not in struct"),
    "negative_lr": (["optimizer.lr=-0.1"], "optimizer.lr=-0.1"),
    "negative_batch_size": (["data.batch_size=-4"], "data.batch_size must be a positive integer"),
    "missing_data_dir": (
        ["data=mnist", "paths.data_dir=/nonexistent/dlbasics"],
        "no IDX file found",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_clear_message(case, workspace, capsys, monkeypatch):
    overrides, expected = BAD_INPUTS[case]
    before = file_contents(workspace["run_dir"])
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={workspace['log_dir']}",
        *overrides,
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code != 0
    assert expected in stderr
    assert "Traceback" not in stderr
    assert file_contents(workspace["run_dir"]) == before


def test_corrupt_idx_file_is_reported(tmp_path):
    """Through a real subprocess once: the exit code and stderr a shell user sees."""
    data_dir = tmp_path / "data"
    make_fake_idx_set(data_dir, "MNIST", 60, 20)
    images = data_dir / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1000])
    result = run_cli(
        "train",
        "data=mnist",
        f"paths.data_dir={data_dir}",
        "data.val_size=10",
        log_dir=tmp_path / "logs",
    )
    assert result.returncode == 2
    assert "train-images-idx3-ubyte is not a valid IDX file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("main", [eval_main, predict_main], ids=["eval", "predict"])
def test_missing_checkpoint_is_reported(main, workspace, capsys, monkeypatch):
    code, stderr = run_main(
        main,
        f"paths.log_dir={workspace['log_dir']}",
        "ckpt_path=/nonexistent/run/checkpoints/last.ckpt",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert "ckpt_path=/nonexistent/run/checkpoints/last.ckpt does not exist" in stderr
    assert "Traceback" not in stderr
