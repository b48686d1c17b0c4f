"""An out-of-range number never trains quietly: each stops dlbasics-train with exit code 2
and one message naming the key, before any data is read; so does a machine that lacks what
the trainer asks for, and a log dir that cannot be written."""

import os
import stat

import pytest
import torch

from dlbasics.errors import ConfigError
from dlbasics.train import main as train_main
from dlbasics.utils.trainer_checks import check_devices
from tests.conftest import run_cli, run_dirs, run_main

pytestmark = pytest.mark.filterwarnings("ignore")

BLOBS = ["data=blobs", "model=softmax"]
MLP = ["data=blobs", "model=mlp"]
QUICK = ["trainer=cpu", "trainer.max_epochs=1", "logger=csv", "extras.print_config=false"]

# (overrides, words the message must hold): every numeric knob of conf/ that a wrong value
# would otherwise leave training with a meaningless setting (see /work/errors_knobs.md)
CASES = [
    # trainer: ours (Lightning takes these silently) and Lightning's own checks, reworded
    (["trainer.max_epochs=0"], "trainer.max_epochs must be a positive integer"),
    (["trainer.min_epochs=-1"], "trainer.min_epochs must be an integer >= 0"),
    (["trainer.min_epochs=3"], "trainer.min_epochs=3 is above trainer.max_epochs=1"),
    (["trainer.check_val_every_n_epoch=0"], "trainer.check_val_every_n_epoch must be"),
    (["trainer.log_every_n_steps=0"], "trainer.log_every_n_steps must be an integer >= 1"),
    (["trainer.accumulate_grad_batches=0"], "trainer.accumulate_grad_batches must be"),
    (["trainer.gradient_clip_val=-1.0"], "trainer.gradient_clip_val must be a number >= 0"),
    (["trainer.num_sanity_val_steps=-2"], "trainer.num_sanity_val_steps must be an integer >="),
    (["trainer.limit_train_batches=1.5"], "limit_train_batches"),
    (["trainer.limit_val_batches=-0.5"], "limit_val_batches"),
    (["trainer.precision=17"], "trainer.precision=17 is not a precision Lightning knows"),
    (["trainer.devices=0"], "trainer.devices must be a positive integer"),
    (["trainer.gradient_clip_algorithm=sideways"], "gradient_clip_algorithm"),
    # loader and data
    (["data.batch_size=0"], "data.batch_size must be a positive integer"),
    (["data.eval_batch_size=0"], "data.eval_batch_size must be a positive integer"),
    (["data.num_workers=-1"], "data.num_workers must be an integer >= 0"),
    (["data.train_repeats=0"], "data.train_repeats must be a positive integer"),
    (["data.num_train=0"], "data.num_train must be a positive integer"),
    (["data.cluster_std=-1"], "data.cluster_std must be a number >= 0"),
    (["data=linear", "data.noise=-1"], "data.noise must be a number >= 0"),
    (["data=house_price", "data.x_std=-1"], "data.x_std must be a number >= 0"),
    (["data=trapezoid", "data.low=-1"], "data.low must be a number >= 0"),
    # task
    (["model.label_smoothing=1.5"], "model.label_smoothing must be a number in [0, 1)"),
    (["model.label_smoothing=-0.1"], "model.label_smoothing must be a number in [0, 1)"),
    (["model.l2_penalty=-1"], "model.l2_penalty must be a number >= 0"),
    (["metrics.top_k=[0]"], "metrics.top_k (model.top_k): top-k accuracy needs integers k >= 1"),
    (["data=moons", "model=binary_mlp", "model.threshold=1.5"], "model.threshold must be in"),
    # net
    ([*MLP, "model.net.dropout=1.5"], "model.net.dropout must be in [0, 1)"),
    ([*MLP, "model.net.hidden_sizes=[0]"], "model.net.hidden_sizes must be a list of positive"),
    ([*MLP, "model.net.hidden_sizes=[2.5]"], "model.net.hidden_sizes must be a list of positive"),
    ([*MLP, "model.net.init=normal", "model.net.init_std=-1"], "model.net.init_std must be"),
    (["model.net.init_std=-1"], "model.net.init_std must be a number >= 0"),
    (
        ["data=kv_retrieval", "model=transformer", "model.net.heads=3"],
        "model.net.heads=3 does not divide model.net.hidden_size=128",
    ),
    (
        ["data=digit_sum", "model=rnn", "model.net.padding_idx=-5"],
        "model.net.padding_idx must be an integer >= 0",
    ),
    # optimizer: torch's own checks, and the values it takes without a word
    (["optimizer.lr=0"], "optimizer.lr must be a number > 0"),
    (["optimizer.lr=-0.1"], "optimizer.lr"),
    (["optimizer.weight_decay=-1"], "optimizer.weight_decay"),
    (["optimizer=momentum", "optimizer.momentum=1.2"], "optimizer.momentum must be a number in"),
    (["optimizer.dampening=1.5"], "optimizer.dampening must be a number in [0, 1)"),
    (["optimizer=adam", "optimizer.betas=[1.0,0.999]"], "optimizer.betas"),
    (["optimizer=adam", "optimizer.eps=-1"], "optimizer.eps"),
    (["optimizer=rmsprop", "optimizer.alpha=1.5"], "optimizer.alpha must be a number in [0, 1)"),
    (["optimizer=rmsprop", "optimizer.momentum=1.5"], "optimizer.momentum must be"),
    (["optimizer=adagrad", "optimizer.lr_decay=-1"], "optimizer.lr_decay"),
    (["optimizer=lbfgs", "optimizer.max_iter=0"], "optimizer.max_iter must be a positive"),
    (["optimizer=lbfgs", "optimizer.history_size=0"], "optimizer.history_size must be a pos"),
    (
        ["optimizer=sgd_weights_only_decay", "optimizer.weight_decay=-1"],
        "optimizer.weight_decay must be a number >= 0",
    ),
    (["optimizer=scratch_sgd", "optimizer.momentum=1.5"], "optimizer.momentum must be"),
    # scheduler
    (["scheduler=step", "scheduler.scheduler.gamma=0"], "scheduler.scheduler.gamma must be a"),
    (["scheduler=step", "scheduler.scheduler.gamma=-0.5"], "scheduler.scheduler.gamma must be"),
    (["scheduler=step", "scheduler.scheduler.step_size=0"], "scheduler.scheduler.step_size"),
    (["scheduler=step", "scheduler.frequency=0"], "scheduler.frequency must be a positive"),
    (["scheduler=cosine", "scheduler.scheduler.eta_min=-1"], "scheduler.scheduler.eta_min"),
    (["scheduler=cosine", "trainer.max_epochs=-1"], "scheduler.scheduler.T_max must be a"),
    (["scheduler=plateau", "scheduler.scheduler.factor=0"], "scheduler.scheduler.factor must"),
    (["scheduler=plateau", "scheduler.scheduler.factor=1.5"], "scheduler.scheduler.factor"),
    (["scheduler=plateau", "scheduler.scheduler.patience=-1"], "scheduler.scheduler.patience"),
    (["scheduler=plateau", "scheduler.scheduler.threshold=-1"], "scheduler.scheduler.threshold"),
    (["scheduler=plateau", "scheduler.scheduler.min_lr=-1"], "scheduler.scheduler.min_lr"),
    # callbacks
    (
        ["callbacks=[default,early_stopping]", "callbacks.early_stopping.patience=-1"],
        "callbacks.early_stopping.patience must be an integer >= 0",
    ),
    (
        ["callbacks=[default,early_stopping]", "callbacks.early_stopping.min_delta=-1"],
        "callbacks.early_stopping.min_delta must be a number >= 0",
    ),
    (["callbacks.model_checkpoint.save_top_k=-2"], "save_top_k=-2"),
    (
        ["callbacks=[default,model_summary]", "callbacks.model_summary.max_depth=-2"],
        "callbacks.model_summary.max_depth must be an integer >= -1",
    ),
    (
        ["callbacks=[default,grad_norms]", "callbacks.grad_norms.norm_type=0"],
        "callbacks.grad_norms.norm_type must be a number > 0",
    ),
    (
        ["callbacks=[default,grad_norms]", "callbacks.grad_norms.every_n_steps=0"],
        "callbacks.grad_norms.every_n_steps must be a positive integer",
    ),
    (
        ["callbacks=[default,histograms]", "callbacks.histograms.max_params=0"],
        "callbacks.histograms.max_params must be a positive integer",
    ),
    (
        ["callbacks=[default,decision_boundary]", "callbacks.decision_boundary.resolution=1"],
        "callbacks.decision_boundary.resolution must be an integer >= 2",
    ),
    (["cv.folds=1"], "cv.folds must be 0 (no cross-validation) or an integer >= 2"),
    (["seed=-1"], "seed must be an integer >= 0"),
]


@pytest.mark.parametrize(
    ("overrides", "words"), CASES, ids=[" ".join(overrides) for overrides, _ in CASES]
)
def test_an_out_of_range_value_stops_the_run_naming_its_key(
    overrides, words, tmp_path, capsys, monkeypatch
):
    log_dir = tmp_path / "logs"
    group_choices = [o for o in overrides if o.split("=")[0] in ("data", "model")]
    base = [] if group_choices else BLOBS
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={log_dir}",
        *base,
        *QUICK,
        *overrides,
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2, stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error: ")]) == 1
    assert words in stderr
    assert "Traceback" not in stderr
    (run_dir,) = run_dirs(log_dir)
    assert not (run_dir / "checkpoints").exists()  # stopped before training


def test_data_and_model_defaults_still_train(tmp_path, capsys, monkeypatch):
    """The checks leave every default value through: the base of the table trains."""
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={tmp_path}",
        *MLP,
        *QUICK,
        "scheduler=plateau",
        "optimizer=momentum",
        "callbacks=[default,early_stopping,grad_norms]",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 0, stderr
    (run_dir,) = run_dirs(tmp_path)
    assert (run_dir / "metrics.json").is_file()


def test_trainer_gpu_without_a_gpu_is_one_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={tmp_path}",
        *BLOBS,
        *QUICK,
        "trainer=gpu",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert (
        "error: trainer.accelerator=gpu: no CUDA GPU on this machine "
        "(torch.cuda.is_available() is False); use trainer=cpu or trainer=ddp_cpu"
    ) in stderr


def test_more_cpu_processes_than_cores_is_one_message(tmp_path, capsys, monkeypatch):
    """Lightning would start them all (64 processes on a two-core machine)."""
    cores = os.cpu_count()
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={tmp_path}",
        *BLOBS,
        *QUICK,
        "trainer=ddp_cpu",
        f"trainer.devices={cores + 1}",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert f"trainer.devices={cores + 1} CPU processes but this machine has {cores}" in stderr
    assert f"set trainer.devices={cores} or fewer" in stderr


@pytest.mark.parametrize(
    ("devices", "words"),
    [
        (2, "trainer.devices=2 asks for 2 GPUs but this machine has 1"),
        ([0, 1, 2], "asks for 3 GPUs but this machine has 1"),
        ("0,1", "asks for 2 GPUs"),
        ("2", "asks for 2 GPUs"),
    ],
)
def test_more_gpus_than_the_machine_has_is_one_message(devices, words, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match="set trainer.devices=1 or fewer") as raised:
        check_devices({"accelerator": "gpu", "devices": devices})
    assert words in str(raised.value)
    check_devices({"accelerator": "gpu", "devices": 1})  # what the machine has passes
    check_devices({"accelerator": "auto", "devices": -1})  # all of them


def unwritable_dirs(tmp_path) -> dict:
    """Log dirs no process can write to, whoever runs the tests (root too)."""
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    return {"under_a_file": a_file / "logs", "in_proc": "/proc/dlbasics_forbidden"}


@pytest.mark.parametrize("case", ["under_a_file", "in_proc", "read_only"])
def test_a_log_dir_that_cannot_be_written_is_one_message(case, tmp_path, capsys, monkeypatch):
    if case == "read_only":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        log_dir = tmp_path / "read_only"
        log_dir.mkdir()
        log_dir.chmod(stat.S_IRUSR | stat.S_IXUSR)  # 0o500
    else:
        log_dir = unwritable_dirs(tmp_path)[case]
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={log_dir}",
        *BLOBS,
        *QUICK,
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert stderr.count("error: ") == 1
    assert f"error: paths.log_dir={log_dir} cannot be written" in stderr
    assert "Set paths.log_dir=<a folder you can write>" in stderr


def test_a_log_dir_that_cannot_be_written_stops_a_multirun_from_the_shell(tmp_path):
    """Through a real process, as Hydra's launcher would make the sweep dir there."""
    log_dir = unwritable_dirs(tmp_path)["under_a_file"]
    result = run_cli("train", "hydra.mode=MULTIRUN", *BLOBS, *QUICK, "seed=0,1", log_dir=log_dir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: paths.log_dir={log_dir} cannot be written (NotADirectoryError: Not a "
        f"directory); every run dir is made under it. Set paths.log_dir=<a folder you can "
        f"write> (or the DLBASICS_LOG_DIR variable)"
    ]
