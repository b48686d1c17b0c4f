"""Mean, std and dead fraction of every activation layer's output, every N steps.

A unit is *dead* when it outputs exactly zero for every example of the batch:
a ReLU whose input stays negative passes no gradient, so it never recovers.
``experiment=nndl/dead_relu`` (biases initialised to -8) shows a dead
fraction of 1 with ReLU and 0 with LeakyReLU.
"""

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from dlbasics.callbacks.inspection import log_scalars
from dlbasics.scratch.ops import Activation
from dlbasics.utils.checks import require_positive_integer

TAG = "activations"
ACTIVATION_MODULE = "torch.nn.modules.activation"


def is_activation(module: nn.Module) -> bool:
    """Modules from ``torch.nn``'s activation file (ReLU, Sigmoid, GELU, …) and the scratch
    activations (``dlbasics.scratch.ops.Activation``).

    Activations applied as functions inside a net's ``forward`` are invisible
    to hooks; nets that want them inspected use the module form.
    """
    return type(module).__module__ == ACTIVATION_MODULE or isinstance(module, Activation)


def activation_stats(output: Tensor) -> Tensor:
    """``[mean, std, dead fraction]`` of one layer's output ``(batch, …)``.

    Every element after the batch dimension is a unit (a neuron, or a
    channel at one position); dead = zero for the whole batch.
    """
    flat = output.detach().flatten(1).float()
    dead = (flat == 0).all(dim=0).float().mean()
    return torch.stack([flat.mean(), flat.std(), dead])


class ActivationStats(pl.Callback):
    """Logs ``activations/<layer>/{mean,std,dead_fraction}`` every ``every_n_steps`` steps.

    Forward hooks are attached only for the training batches that are
    logged and removed right after, so other steps pay nothing.
    """

    STATS = ("mean", "std", "dead_fraction")

    def __init__(self, every_n_steps: int = 50) -> None:
        self.every_n_steps = require_positive_integer(
            "callbacks.activation_stats.every_n_steps", every_n_steps
        )
        self._handles: list[RemovableHandle] = []
        self._outputs: dict[str, Tensor] = {}
        self._step = 0

    def _record(self, name: str):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if isinstance(output, Tensor) and output.ndim >= 2:
                self._outputs[name] = activation_stats(output)

        return hook

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step % self.every_n_steps != 0:
            return
        self._step = trainer.global_step  # the optimizer step this batch is about to take
        self._handles = [
            module.register_forward_hook(self._record(name))
            for name, module in pl_module.named_modules()
            if is_activation(module)
        ]

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._remove_hooks()
        if not self._outputs:
            return
        names = list(self._outputs)
        stats = torch.stack([self._outputs[name] for name in names]).tolist()
        self._outputs = {}
        log_scalars(
            trainer,
            {
                f"{TAG}/{name}/{stat}": value
                for name, row in zip(names, stats, strict=True)
                for stat, value in zip(self.STATS, row, strict=True)
            },
            step=self._step,
        )

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._remove_hooks()
