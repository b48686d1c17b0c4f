"""Stop at the first non-finite output, loss or gradient; keep the last finite weights; say where.

Without it a diverging run keeps going on NaN weights for the rest of its
epochs and the only symptom is ``loss=nan`` in the progress bar.
"""

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

from dlbasics.errors import DlbasicsError

CHECKPOINT_NAME = "last_good.ckpt"
NamedParam = tuple[str, nn.Parameter]


class NonFiniteError(DlbasicsError):
    """Training diverged: an output, loss or gradient became NaN or infinite."""


def is_finite(tensor: Tensor) -> Tensor:
    return torch.isfinite(tensor.detach()).all()


def first_non_finite_grad(
    module: nn.Module, loss: Tensor | None = None, params: Sequence[NamedParam] | None = None
) -> tuple[bool, str]:
    """``(anything non-finite?, first parameter with a non-finite gradient or "")``.

    Runs every step, so the common case is one sum per gradient and one
    device sync: NaN and Inf survive a sum. Only when that sum is not finite
    (or overflows) are the tensors checked element by element, input layer first.
    ``params`` (``module.named_parameters()`` listed once) saves walking the module tree.
    """
    params = list(module.named_parameters()) if params is None else params
    named = [(name, p.grad) for name, p in params if p.grad is not None]
    sums = [g.detach().sum() for _, g in named] + ([loss.detach()] if loss is not None else [])
    if not sums or math.isfinite(float(torch.stack(sums).float().sum())):
        return False, ""
    finite = torch.stack([is_finite(g) for _, g in named]).tolist() if named else []
    bad = [name for (name, _), ok in zip(named, finite, strict=True) if not ok]
    loss_finite = loss is None or bool(is_finite(loss))
    return bool(bad) or not loss_finite, bad[0] if bad else ""


@torch.no_grad()
def first_non_finite_output(module: nn.Module, *inputs: Any) -> str:
    """Re-run ``module`` on ``inputs`` and name the first leaf layer whose output is non-finite
    (only called once a run has diverged, so the extra forward costs nothing in normal runs)."""
    found: list[str] = []

    def watch(name: str) -> Callable[..., None]:
        def hook(layer: nn.Module, args: Any, output: Any) -> None:
            if not found and isinstance(output, Tensor) and not bool(is_finite(output)):
                found.append(f"{name} ({type(layer).__name__})")

        return hook

    handles = [
        layer.register_forward_hook(watch(name))
        for name, layer in module.named_modules()
        if name and not any(True for _ in layer.children())
    ]
    try:
        module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else "none (the non-finite values come from the inputs)"


def weights_finite(module: nn.Module) -> bool:
    return all(bool(is_finite(p)) for p in module.parameters())


class NanGuard(pl.Callback):
    """Checks the output of every forward while fitting (training and validation: the first
    forward after a bad step may be either; a training output must be caught before the
    task's metrics reject the predictions), then the loss and every gradient before each
    optimizer step: one sum per gradient and one device sync per step.

    On the first non-finite value it saves the (still finite) weights as
    ``checkpoints/last_good.ckpt`` and raises :class:`NonFiniteError`, which
    the entry point prints as one line naming the step, the first layer with
    a non-finite output or gradient and that checkpoint.
    """

    def __init__(self, save_checkpoint: bool = True) -> None:
        self.save_checkpoint = save_checkpoint
        self._loss: Tensor | None = None
        self._params: list[NamedParam] = []
        self._handle: RemovableHandle | None = None
        self._probing = False

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._params = list(pl_module.named_parameters())

        def check_output(module: nn.Module, args: Any, output: Any) -> None:
            if self._probing or not isinstance(output, Tensor):
                return
            if not bool(is_finite(output)):
                self._probing = True
                try:
                    layer = first_non_finite_output(module, *args)
                finally:
                    self._probing = False
                self._stop(trainer, pl_module, f"the model's output; first layer: {layer}")

        self._handle = pl_module.register_forward_hook(check_output)

    def on_before_backward(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: Tensor
    ) -> None:
        self._loss = loss

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer
    ) -> None:
        loss, self._loss = self._loss, None
        broken, layer = first_non_finite_grad(pl_module, loss, self._params)
        if broken:
            what = f"a gradient; first layer: {layer}" if layer else "the loss"
            self._stop(trainer, pl_module, what)

    def _stop(self, trainer: pl.Trainer, pl_module: pl.LightningModule, what: str) -> None:
        raise NonFiniteError(
            f"training diverged at step {trainer.global_step} (epoch {trainer.current_epoch}): "
            f"non-finite values in {what}. Stopped before this step changed the weights. "
            f"Last good checkpoint: {self._last_good(trainer, pl_module)}. "
            f"Lower optimizer.lr or set trainer.gradient_clip_val."
        )

    def _last_good(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> str:
        """Save the current weights if they are finite; else name ModelCheckpoint's last file."""
        checkpoint = trainer.checkpoint_callback
        if self.save_checkpoint and weights_finite(pl_module):
            dirpath = getattr(checkpoint, "dirpath", None)
            folder = Path(dirpath) if dirpath else Path(trainer.default_root_dir) / "checkpoints"
            path = folder / CHECKPOINT_NAME
            trainer.save_checkpoint(path)
            return f"{path} (the finite weights before step {trainer.global_step})"
        earlier = getattr(checkpoint, "last_model_path", "") or ""
        if earlier and Path(earlier).is_file():
            return earlier
        return "none (the weights are already non-finite and no checkpoint was saved before)"

    def _remove_hook(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._remove_hook()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._remove_hook()
