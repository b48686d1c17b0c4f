"""The default progress bar updates on a timer, yet ends every epoch on its exact count and
metrics."""

import io
import itertools

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from pytorch_lightning.callbacks import RichProgressBar
from rich.console import Console
from rich.live import Live

from dlbasics.callbacks.progress import TimedRichProgressBar
from dlbasics.data.clusters import BlobsDataModule
from dlbasics.errors import ConfigError
from dlbasics.nets import MLP
from dlbasics.tasks import ClassificationTask

from .conftest import bare_trainer

TRAIN_BATCHES, VAL_BATCHES, EPOCHS = 160, 40, 2


def small_fit_parts() -> tuple[ClassificationTask, BlobsDataModule]:
    torch.manual_seed(0)
    task = ClassificationTask(
        num_classes=4,
        top_k=(),
        net=MLP(2, 4, hidden_sizes=[8]),
        optimizer=lambda params: torch.optim.SGD(params, lr=0.1),
    )
    data = BlobsDataModule(
        num_train=4 * TRAIN_BATCHES, num_val=4 * VAL_BATCHES, batch_size=4, eval_batch_size=4
    )
    return task, data


def shown(bar: RichProgressBar) -> str:
    """The text the bar would draw now."""
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(bar.progress.get_renderable())
    return console.file.getvalue()


class BarRecorder(pl.Callback):
    """Placed after the bar: what it shows at each epoch end and when training ends."""

    def __init__(self, bar: RichProgressBar) -> None:
        self.bar = bar
        self.epoch_ends: list[tuple[float, float, str]] = []
        self.at_train_end = ""

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        task = self.bar.train_progress_bar
        self.epoch_ends.append((task.completed, task.total, shown(self.bar)))

    def on_train_end(self, trainer, pl_module) -> None:
        self.at_train_end = shown(self.bar)
        self.final_metrics = dict(trainer.progress_bar_metrics)


def fit_with(bar: RichProgressBar) -> BarRecorder:
    task, data = small_fit_parts()
    recorder = BarRecorder(bar)
    trainer = bare_trainer(
        max_epochs=EPOCHS, enable_progress_bar=True, callbacks=[bar, recorder], logger=False
    )
    trainer.fit(task, datamodule=data)
    return recorder


@pytest.fixture
def redraws(monkeypatch) -> list[int]:
    """Counts rich's redraws (its refresh thread's and the hard ones)."""
    count = [0]
    original = Live.refresh

    def counting(self) -> None:
        count[0] += 1
        original(self)

    monkeypatch.setattr(Live, "refresh", counting)
    return count


def test_bar_updates_on_its_timer_and_ends_each_epoch_on_the_exact_count(redraws) -> None:
    """A clock stepped 10 ms per batch end: at 4 updates per second every 25th batch end
    reaches Lightning's bar, the rest cost a clock read; each epoch still ends on its full
    count, and the last frame shows the last epoch's logged metrics."""
    bar = TimedRichProgressBar(redraws_per_second=4)
    ticks = itertools.count()
    bar.clock = lambda: next(ticks) * 0.01
    recorder = fit_with(bar)
    batch_ends = EPOCHS * (TRAIN_BATCHES + VAL_BATCHES) + 2  # + the sanity check's 2
    # passed on: batch ends 0, 25, 50, ..., 400 by the timer, then the kept-back last one of
    # each of the 5 validation and training epochs (the sanity check's included); none of
    # those (1, 161, 201, 361, 401) is on the timer's
    assert bar.updates == len(range(0, batch_ends, 25)) + 2 * EPOCHS + 1 == 22
    assert 0 < redraws[0] < batch_ends / 10
    for completed, total, text in recorder.epoch_ends:
        assert completed == total == TRAIN_BATCHES
        assert f"{TRAIN_BATCHES}/{TRAIN_BATCHES}" in text
    loss, best = recorder.final_metrics["train/loss"], recorder.final_metrics["val/acc_best"]
    assert f"train/loss: {loss:.3f}" in recorder.at_train_end
    assert f"val/acc_best: {best:.3f}" in recorder.at_train_end


def test_timed_bar_shows_what_lightnings_bar_shows_at_each_epoch_end() -> None:
    """On a real clock (a fast fit: most batch ends skipped), the epoch-end frames equal
    those of Lightning's own RichProgressBar, which updates after every batch, but for
    the timing columns."""

    def without_timing(text: str) -> str:  # elapsed time and speed differ run to run
        return text.split("0:00")[0] + text.split("it/s")[-1]

    timed_bar = TimedRichProgressBar()
    timed = fit_with(timed_bar)
    every_batch = fit_with(RichProgressBar())
    assert timed_bar.updates < EPOCHS * (TRAIN_BATCHES + VAL_BATCHES) / 4
    assert [end[:2] for end in timed.epoch_ends] == [end[:2] for end in every_batch.epoch_ends]
    for (*_, timed_text), (*_, text) in zip(timed.epoch_ends, every_batch.epoch_ends, strict=True):
        assert without_timing(timed_text) == without_timing(text)


def test_default_callbacks_use_the_timed_bar(compose_config) -> None:
    cfg = compose_config(["callbacks=default"])
    bar = instantiate(cfg.callbacks.rich_progress_bar)
    assert isinstance(bar, TimedRichProgressBar)
    assert bar.redraw_interval == pytest.approx(0.25)


@pytest.mark.parametrize("rate", [0, -1, "fast", True])
def test_redraw_rate_must_be_a_positive_number(rate) -> None:
    with pytest.raises(ConfigError, match="redraws_per_second must be a number > 0"):
        TimedRichProgressBar(redraws_per_second=rate)


def test_test_and_predict_bars_end_on_their_exact_count() -> None:
    """With every batch end after the first kept back, the test and predict bars still end
    on their full batch count."""
    task, data = small_fit_parts()
    bar = TimedRichProgressBar()
    bar.clock = lambda: 0.0  # the timer never comes due again after the first batch
    trainer = bare_trainer(enable_progress_bar=True, callbacks=[bar])
    trainer.test(task, datamodule=data)
    test_bar = bar.progress.tasks[bar.test_progress_bar_id]
    assert test_bar.completed == test_bar.total == 50  # 200 test samples, 4 a batch
    trainer.predict(task, datamodule=data)
    predict_bar = bar.progress.tasks[bar.predict_progress_bar_id]
    assert predict_bar.completed == predict_bar.total == 50
    assert bar.updates == 3  # the very first batch end, then the last of each stage
