"""Tasks for nets built from scratch operators: the same metrics, names, checkpoints and
sweeps as the framework tasks, trained by the net's own backward under Lightning's manual
optimisation.

A training step runs the net forward (no autograd graph), the loss op forward and
backward, and the net's backward, which leaves every parameter's gradient in ``.grad``;
then the optimizer steps (a scratch optimizer, or any torch one: both read ``.grad``).
Under DDP the gradients are averaged across processes by the task itself, because DDP's
hooks fire only on autograd's backward.
"""

from typing import Any

import torch
from torch import Tensor

from dlbasics.errors import ConfigError
from dlbasics.nets.parameters import is_weight
from dlbasics.scratch.losses import MSE, BCEWithLogits, SoftmaxCrossEntropy
from dlbasics.tasks.binary import BinaryClassificationTask
from dlbasics.tasks.classification import ClassificationTask
from dlbasics.tasks.regression import RegressionTask


class ManualBackward:
    """Put before a Task class in the bases; ``loss_op`` is the scratch loss."""

    automatic_optimization = False
    loss_op: Any

    def check_scratch_net(self) -> None:
        if not callable(getattr(self.net, "backward", None)):
            raise ConfigError(
                f"model.net={type(self.net).__name__} has no backward of its own; a scratch "
                f"task trains nets from dlbasics.scratch.nets (use the framework task for others)"
            )

    def compute_loss(self, output: Tensor, target: Tensor) -> Tensor:
        return self.loss_op(output, target)

    def on_train_start(self) -> None:
        # DDP would wait for autograd's backward after every forward; gradients are
        # averaged by synchronise_gradients instead.
        wrapped = self.trainer.strategy.model
        if isinstance(wrapped, torch.nn.parallel.DistributedDataParallel):
            wrapped.require_backward_grad_sync = False

    def synchronise_gradients(self) -> None:
        if self.trainer.world_size > 1:
            for param in self.net.parameters():
                if param.grad is not None:
                    param.grad = self.trainer.strategy.reduce(param.grad, reduce_op="mean")

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        loss = self._shared_step(batch, "train")
        self.net.backward(self.loss_op.backward())
        for param in self.net.parameters():  # the penalties' gradients, on the weights
            if is_weight(param) and (self.l1_penalty or self.l2_penalty):
                penalty = self.l1_penalty * param.detach().sign() + self.l2_penalty * param.detach()
                param.grad = param.grad + penalty  # ∂(λ1·Σ|w| + λ2/2·Σw²)/∂w
        self.synchronise_gradients()
        optimizer = self.optimizers()
        optimizer.step()
        optimizer.zero_grad()
        schedulers = self.lr_schedulers()
        if schedulers is not None and self.scheduler_config.get("interval") == "step":
            schedulers.step()
        return loss

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()  # type: ignore[misc]
        schedulers = self.lr_schedulers()
        if schedulers is not None and self.scheduler_config.get("interval") == "epoch":
            if isinstance(schedulers, torch.optim.lr_scheduler.ReduceLROnPlateau):
                schedulers.step(self.trainer.callback_metrics[self.monitor])
            else:
                schedulers.step()


class ScratchClassificationTask(ManualBackward, ClassificationTask):
    """Softmax cross-entropy, written out (``dlbasics.scratch.losses``)."""

    def __init__(self, **task_kwargs: Any) -> None:
        if task_kwargs.get("label_smoothing"):
            raise ConfigError("model.label_smoothing: the scratch cross-entropy has none; set 0")
        super().__init__(**task_kwargs)
        self.loss_op = SoftmaxCrossEntropy()
        self.check_scratch_net()


class ScratchBinaryTask(ManualBackward, BinaryClassificationTask):
    """BCE with logits, written out."""

    def __init__(self, **task_kwargs: Any) -> None:
        super().__init__(**task_kwargs)
        self.loss_op = BCEWithLogits()
        self.check_scratch_net()


class ScratchRegressionTask(ManualBackward, RegressionTask):
    """Mean squared error, written out."""

    def __init__(self, loss: str = "mse", **task_kwargs: Any) -> None:
        if loss != "mse":
            raise ConfigError(f"model.loss={loss!r}: the scratch regression loss is mse")
        super().__init__(loss=loss, **task_kwargs)
        self.loss_op = MSE()
        self.check_scratch_net()
