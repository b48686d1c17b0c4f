"""trainer.precision: bf16-mixed trains every task family on a CPU with float32 losses,
metrics and predictions; 16-mixed on a CPU falls back to bf16-mixed; an unknown value is one
clear message."""

import json
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from dlbasics.errors import ConfigError
from dlbasics.train import main as train_main
from dlbasics.utils.instantiate import build_datamodule, build_model
from dlbasics.utils.precision import require_precision
from tests.conftest import bare_trainer, run_dirs, run_main

SHORT_RUN = [
    "data=blobs",
    "model=mlp",
    "trainer=cpu",
    "trainer.max_epochs=2",
    "logger=csv",
    "callbacks=model_checkpoint",
    "extras.print_config=false",
]


def train_record(log_dir: Path, *overrides: str) -> tuple[dict, Path]:
    """metrics.json and the run dir of one run through dlbasics-train (in this process)."""
    with pytest.MonkeyPatch.context() as patch:
        code, _ = run_main(train_main, f"paths.log_dir={log_dir}", *overrides, monkeypatch=patch)
    assert code == 0
    (run_dir,) = run_dirs(log_dir)
    return json.loads((run_dir / "metrics.json").read_text()), run_dir


def test_bf16_mixed_trains_through_the_entry_point_as_well_as_32_true(tmp_path) -> None:
    full, _ = train_record(tmp_path / "full", *SHORT_RUN)
    mixed, run_dir = train_record(tmp_path / "mixed", *SHORT_RUN, "trainer.precision=bf16-mixed")
    numbers = {k: v for k, v in mixed.items() if isinstance(v, float)}
    assert "test/acc" in numbers and "test/loss" in numbers
    assert all(math.isfinite(v) for v in numbers.values()), numbers
    # bfloat16 keeps 8 bits of mantissa: the same run, not the same digits
    assert mixed["test/acc"] == pytest.approx(full["test/acc"], abs=0.05)
    assert mixed["test/loss"] == pytest.approx(full["test/loss"], rel=0.1)
    # mixed precision keeps the weights themselves in float32 (so does the checkpoint)
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert {t.dtype for t in checkpoint["state_dict"].values() if t.is_floating_point()} == {
        torch.float32
    }


# One tiny generated run per task family (each net's own sizes, a few batches).
FAMILIES = {
    "classification": ["data=blobs", "model=mlp"],
    "regression": ["data=linear", "model=linear_regression"],
    "binary": ["data=moons", "model=binary_mlp"],
    "multilabel": ["data=multilabel_synthetic", "model=multilabel_mlp"],
    "recurrent": ["data=digit_sum", "model=rnn"],
    "transformer": [
        "data=kv_retrieval",
        "model=transformer",
        "model.net.hidden_size=16",
        "model.net.ffn_size=32",
        "model.net.num_layers=1",
        "data.num_train=128",
        "data.num_val=64",
        "data.num_test=64",
    ],
    "scratch": ["data=blobs", "model=scratch_mlp"],
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_task_family_trains_in_bf16_mixed_with_float32_metrics(
    family, compose_config
) -> None:
    cfg = compose_config([*FAMILIES[family], "trainer.max_epochs=1"])
    pl.seed_everything(0)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg)
    autocast: list[bool] = []  # whether each training/eval forward of the net ran under it
    model.net.register_forward_pre_hook(
        lambda _module, _inputs: autocast.append(torch.is_autocast_enabled("cpu"))
    )
    trainer = bare_trainer(
        precision="bf16-mixed",
        limit_train_batches=3,
        limit_val_batches=2,
        limit_test_batches=2,
        limit_predict_batches=1,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, datamodule=datamodule)
    assert autocast and all(autocast)  # the run really was mixed
    logged = dict(trainer.logged_metrics)  # test replaces them with its own
    trainer.test(model, datamodule=datamodule, verbose=False)
    logged |= trainer.logged_metrics
    assert {"train/loss", "val/loss", "test/loss"} <= set(logged)
    assert {name: value.dtype for name, value in logged.items()} == dict.fromkeys(
        logged, torch.float32
    )
    assert all(torch.isfinite(value) for value in logged.values()), logged
    (predictions,) = trainer.predict(model, datamodule=datamodule)
    assert predictions.dtype == torch.float32  # probabilities and values at full precision


def test_16_mixed_on_a_cpu_trains_as_bf16_mixed_with_a_warning() -> None:
    """Lightning's own behaviour, which the trainer config's comment states: fp16 autocast
    has no CPU kernels, so the Trainer switches to bfloat16 rather than refusing."""
    with pytest.warns(UserWarning, match="AMP with fp16 is not supported on CPU"):
        trainer = pl.Trainer(accelerator="cpu", precision="16-mixed", logger=False)
    assert trainer.precision == "bf16-mixed"


@pytest.mark.parametrize("value", ["32-true", "bf16-mixed", "16-mixed", 32, 16, "bf16"])
def test_precisions_lightning_accepts_pass_the_check(value) -> None:
    assert require_precision("trainer.precision", value) == value
    pl.Trainer(accelerator="cpu", precision=value, logger=False)  # and Lightning agrees


@pytest.mark.parametrize("value", [17, "fp16", True, 32.0, "bf16_mixed"])
def test_unknown_precision_names_the_key_and_the_values_that_work(value) -> None:
    with pytest.raises(ConfigError) as error:
        require_precision("trainer.precision", value)
    message = str(error.value)
    assert message.startswith(f"trainer.precision={value!r} is not a precision")
    assert "bf16-mixed" in message and "32-true" in message
    # what Lightning would have said: "is invalid", or for 32.0 (which equals 32) an
    # internal "No precision set"
    with pytest.raises((ValueError, RuntimeError), match="is invalid|No precision set"):
        pl.Trainer(accelerator="cpu", precision=value, logger=False)


def test_an_unknown_precision_stops_dlbasics_train_with_one_message(
    tmp_path, capsys, monkeypatch
) -> None:
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={tmp_path}",
        *SHORT_RUN,
        "trainer.precision=17",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert "error: trainer.precision=17 is not a precision Lightning knows" in stderr
    assert "Traceback" not in stderr
    assert not list(tmp_path.rglob("metrics.json"))
