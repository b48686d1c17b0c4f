"""Scratch nets trained by the Trainer: the same as their framework twins, checkpoints,
inspection, DDP replicas kept in step by the task's own gradient averaging."""

import json
import math

import pytest
import torch

from dlbasics.errors import ConfigError
from dlbasics.nets import MLP
from dlbasics.scratch.nets import ScratchMLP
from dlbasics.tasks.scratch import ScratchClassificationTask
from dlbasics.train import train
from tests.conftest import make_fake_idx_set, run_cli, run_dirs
from tests.tensorboard_runs import load_events

pytestmark = pytest.mark.filterwarnings("ignore")

TWIN = [
    "data=blobs",
    "trainer=cpu",
    "trainer.max_epochs=3",
    "callbacks=[model_checkpoint]",
    "logger=csv",
    "model.net.hidden_sizes=[16,8]",
    "model.net.activation=sigmoid",
    "extras.print_config=false",
]


def run(compose_config, tmp_path, name, *overrides):
    cfg = compose_config([*overrides])
    cfg.paths.output_dir = str(tmp_path / name)
    record = train(cfg)
    return record, torch.load(record["best_ckpt"], weights_only=True)


def test_the_scratch_mlp_trains_like_its_framework_twin(compose_config, tmp_path) -> None:
    """Same seed, init, data order and optimizer: the hand-written backward gives the
    autograd results up to float rounding, and the checkpoints are interchangeable."""
    framework, framework_ckpt = run(compose_config, tmp_path, "mlp", "model=mlp", *TWIN)
    scratch, scratch_ckpt = run(compose_config, tmp_path, "scratch", "model=scratch_mlp", *TWIN)
    for key in ("val/loss", "val/acc", "test/loss"):
        assert scratch[key] == pytest.approx(framework[key], abs=1e-6), key
    ours, theirs = scratch_ckpt["state_dict"], framework_ckpt["state_dict"]
    weights = [k for k in theirs if k.startswith("net.")]
    assert weights == [k for k in ours if k.startswith("net.")]  # the same layout
    for key in weights:
        assert torch.allclose(ours[key], theirs[key], atol=1e-6), key
    twin = MLP(2, 4, [16, 8], activation="sigmoid")
    twin.load_state_dict({k.removeprefix("net."): ours[k] for k in weights})


@pytest.mark.parametrize(
    "optimizer",
    ["scratch_sgd", "scratch_momentum", "scratch_adagrad", "scratch_rmsprop", "scratch_adam"],
)
def test_scratch_optimizers_train_through_the_trainer(compose_config, tmp_path, optimizer):
    record, checkpoint = run(
        compose_config,
        tmp_path,
        optimizer,
        "model=scratch_mlp",
        f"optimizer={optimizer}",
        *TWIN[:-2],
    )
    assert record["test/acc"] > 0.5  # four blobs: chance is 0.25
    assert checkpoint["optimizer_states"]  # the scratch optimizer's state is in the ckpt


def test_a_framework_net_in_a_scratch_task_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="has no backward of its own"):
        ScratchClassificationTask(
            num_classes=3,
            net=MLP(2, 3, [4]),
            top_k=(),
            optimizer={"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1},
        )
    assert callable(ScratchMLP(2, 3).backward)


def test_inspection_callbacks_see_scratch_layers(compose_config, tmp_path) -> None:
    run(
        compose_config,
        tmp_path,
        "inspect",
        "model=scratch_mlp",
        "data=blobs",
        "trainer=cpu",
        "trainer.max_epochs=1",
        "callbacks=[grad_norms,activation_stats]",
        "callbacks.grad_norms.every_n_steps=1",
        "callbacks.activation_stats.every_n_steps=1",
        "model.net.hidden_sizes=[8]",
        "+callbacks.model_checkpoint={_target_: "
        "pytorch_lightning.callbacks.ModelCheckpoint, dirpath: " + str(tmp_path / "ck") + "}",
    )
    tags = load_events(tmp_path / "inspect").Tags()["scalars"]
    assert "grad_norm/net.layers.0.weight" in tags and "grad_norm/total" in tags
    assert "activations/net.layers.1/dead_fraction" in tags


def test_ddp_replicas_hold_identical_weights(tmp_path) -> None:
    """DDP's gradient hooks never fire for a hand-written backward; the task averages the
    gradients itself, so both processes end with the same weights."""
    data_dir = tmp_path / "data"
    make_fake_idx_set(data_dir, "MNIST", 600, 200)
    result = run_cli(
        "train",
        "trainer=ddp_cpu",
        "data=mnist",
        "model=scratch_mlp",
        "model.net.hidden_sizes=[32]",
        f"paths.data_dir={data_dir}",
        "data.val_size=100",
        "data.batch_size=32",
        "trainer.max_epochs=1",
        "callbacks=none",
        "logger=csv",
        "+callbacks.probe._target_=tests.ddp_probe.SaveWeightsPerRank",
        f"+callbacks.probe.out={tmp_path / 'weights'}",
        log_dir=tmp_path / "logs",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / "weights" / f"rank{r}.pt") for r in (0, 1))
    start = ScratchMLP(784, 10, [32])
    assert rank0.keys() == rank1.keys() == start.state_dict().keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    (run_dir,) = run_dirs(tmp_path / "logs")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["global_step"] == math.ceil(250 / 32)  # each process trained its shard
    assert metrics["test/acc"] > 0.3
