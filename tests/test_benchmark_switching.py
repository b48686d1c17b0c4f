"""benchmarks/callback_overhead.py: the callbacks it switches really run only in "on" epochs,
and every epoch after the warm-up one is timed on the right side."""

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.callback_overhead import AlternateEpochs


class TinyRegression(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


class Recorder(pl.Callback):
    """Which epochs its per-step hook ran in, and the fit-start/-end calls it received."""

    def __init__(self) -> None:
        self.step_epochs: set[int] = set()
        self.events: list[tuple[str, int]] = []
        self.forward_hook_epochs: set[int] = set()
        self._handle = None

    def on_fit_start(self, trainer, pl_module) -> None:
        self.events.append(("fit_start", trainer.current_epoch))
        self._handle = pl_module.register_forward_hook(
            lambda *_: self.forward_hook_epochs.add(trainer.current_epoch)
        )

    def on_fit_end(self, trainer, pl_module) -> None:
        self.events.append(("fit_end", trainer.current_epoch))
        self._handle.remove()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.step_epochs.add(trainer.current_epoch)


def test_extra_callbacks_run_in_even_epochs_only(tmp_path):
    data = TensorDataset(torch.randn(32, 3), torch.randn(32, 1))
    recorder = Recorder()
    alternate = AlternateEpochs([recorder])
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=5,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[alternate],
        default_root_dir=tmp_path,
    )
    trainer.fit(TinyRegression(), DataLoader(data, batch_size=8))

    assert recorder.step_epochs == {0, 2, 4}
    assert recorder.forward_hook_epochs == {0, 2, 4}
    assert [name for name, _ in recorder.events] == [
        "fit_start",  # switched in for the warm-up epoch 0
        "fit_end",  # out for epoch 1
        "fit_start",
        "fit_end",  # out for epoch 3
        "fit_start",
        "fit_end",  # Lightning's own fit end, the callback being in for epoch 4
    ]
    for clock in ("wall", "cpu"):
        assert len(alternate.seconds[False][clock]) == 2  # epochs 1 and 3
        assert len(alternate.seconds[True][clock]) == 2  # epochs 2 and 4; 0 is warm-up
        assert all(seconds > 0 for on in (True, False) for seconds in alternate.seconds[on][clock])
