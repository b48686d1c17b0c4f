"""The Trainer dlbasics builds when no profiler is asked for: no profiling contexts,
callback hooks that no callback implements skipped, every implemented one still called on
every step; Lightning's own profilers and dispatch where one is asked for; and the CUDA
probe Lightning makes slow on a machine without GPUs put back to torch's default."""

from collections import Counter
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
from pytorch_lightning.profilers import PassThroughProfiler, SimpleProfiler
from pytorch_lightning.trainer import call as lightning_call

from dlbasics.compat import implements_hook
from dlbasics.utils import lean_trainer
from dlbasics.utils.instantiate import build_datamodule, build_model, build_trainer
from dlbasics.utils.lean_trainer import NVML_CHECK, NoProfiler, cheap_cuda_probe

STEPS = 5


class StepHooks(pl.Callback):
    """Counts two step hooks it implements in its class."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def on_before_zero_grad(self, trainer, pl_module, optimizer) -> None:
        self.calls["on_before_zero_grad"] += 1

    def on_train_batch_end(self, *args) -> None:
        self.calls["on_train_batch_end"] += 1


def wrapped_instance(calls: Counter) -> pl.Callback:
    """A plain Callback given its own on_after_backward on the instance, as the timing
    wrappers of benchmarks/callback_overhead.py do."""
    callback = pl.Callback()

    def on_after_backward(trainer, pl_module) -> None:
        calls["on_after_backward"] += 1

    callback.on_after_backward = on_after_backward
    return callback


def fitted_counts(compose_config, overrides: list[str]) -> tuple[pl.Trainer, Counter]:
    cfg = compose_config(
        [
            "trainer=cpu",
            "trainer.max_epochs=1",
            f"trainer.limit_train_batches={STEPS}",
            "trainer.limit_val_batches=0",
            "callbacks=none",
            "logger=csv",
            *overrides,
        ]
    )
    datamodule = build_datamodule(cfg)  # first: the model's sizes come from it
    counted, by_instance = StepHooks(), Counter()
    trainer = build_trainer(
        cfg, [counted, wrapped_instance(by_instance)], enable_progress_bar=False
    )
    trainer.fit(build_model(cfg), datamodule=datamodule)
    return trainer, counted.calls + by_instance


def test_no_profiler_by_default_and_every_implemented_hook_still_runs(compose_config):
    trainer, calls = fitted_counts(compose_config, [])
    assert type(trainer.profiler) is NoProfiler
    assert calls == {
        "on_before_zero_grad": STEPS,
        "on_train_batch_end": STEPS,
        "on_after_backward": STEPS,
    }


def test_a_profiler_asked_for_is_lightnings_and_sees_the_same_calls(compose_config):
    trainer, calls = fitted_counts(compose_config, ["trainer.profiler=simple"])
    assert type(trainer.profiler) is SimpleProfiler
    assert calls == {
        "on_before_zero_grad": STEPS,
        "on_train_batch_end": STEPS,
        "on_after_backward": STEPS,
    }
    # Lightning's dispatch, with its profiling context around every callback's hook
    profiled = set(trainer.profiler.recorded_durations)
    assert any(name.endswith("StepHooks.on_before_backward") for name in profiled)


class CountingTrainer(SimpleNamespace):
    """Stands in for a Trainer: counts how often Lightning's dispatch asks for its module."""

    module_reads = 0

    @property
    def lightning_module(self):
        self.module_reads += 1
        return None


@pytest.mark.parametrize(
    "profiler, skipped", [(NoProfiler(), True), (PassThroughProfiler(), False)]
)
def test_hooks_no_callback_implements_are_skipped_with_no_profiler_only(profiler, skipped):
    lean_trainer.no_profiler()  # installs the skipping dispatch (once per process)
    trainer = CountingTrainer(profiler=profiler, callbacks=[pl.Callback(), StepHooks()])
    lightning_call._call_callback_hooks(trainer, "on_after_backward")
    assert (trainer.module_reads == 0) is skipped
    trainer.module_reads = 0
    lightning_call._call_callback_hooks(trainer, "on_before_zero_grad", None)  # implemented
    assert trainer.module_reads > 0
    assert trainer.callbacks[1].calls["on_before_zero_grad"] == 1


def test_implements_hook():
    assert not implements_hook(pl.Callback(), "on_after_backward")
    assert implements_hook(StepHooks(), "on_before_zero_grad")
    assert not implements_hook(StepHooks(), "on_after_backward")
    assert implements_hook(wrapped_instance(Counter()), "on_after_backward")


@pytest.mark.parametrize(
    "before, devices, after, changed",
    [("1", 0, "0", True), ("1", 2, "1", False), (None, 0, None, False)],
)
def test_cheap_cuda_probe_only_where_no_device_is_visible(
    monkeypatch, before, devices, after, changed
):
    if before is None:
        monkeypatch.delenv(NVML_CHECK, raising=False)
    else:
        monkeypatch.setenv(NVML_CHECK, before)
    monkeypatch.setattr(lean_trainer.torch.cuda, "device_count", lambda: devices)
    assert cheap_cuda_probe() is changed
    assert lean_trainer.os.environ.get(NVML_CHECK) == after
