"""The part every task shares: net, optimiser and scheduler from config, the shared step,
per-stage metrics, the best-so-far value of the monitored metric, the decision rule, and
the speed knobs that leave the net's weights and outputs as they are (mixed precision's
float32 outputs, ``model.compile``, ``model.channels_last``)."""

from collections.abc import Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from torch import Tensor, nn
from torchmetrics import MaxMetric, Metric, MetricCollection, MinMetric

from dlbasics.errors import ConfigError
from dlbasics.nets.parameters import is_weight
from dlbasics.tasks.optimizers import checked_optimizer, checked_scheduler
from dlbasics.tasks.stage_metrics import BatchMean, select_metrics
from dlbasics.utils.checks import require_choice, require_flag, require_non_negative
from dlbasics.utils.config import plain_config

STAGES = ("train", "val", "test")
MODES = {"min": MinMetric, "max": MaxMetric}
METRIC_STATES_KEY = "dlbasics_metric_states"


def _copy_state(value: Tensor | list[Tensor], device: Any = None) -> Tensor | list[Tensor]:
    """A metric state (a tensor, or a list of them for concatenating metrics), copied."""
    if isinstance(value, list):
        return [item.detach().clone().to(device) for item in value]
    return value.detach().clone().to(device)


HALF_PRECISION = (torch.float16, torch.bfloat16)


def full_precision(output: Tensor) -> Tensor:
    """A float16/bfloat16 output (``trainer.precision=bf16-mixed`` runs the net's matrix
    products in bfloat16) as float32, so losses, probabilities, metrics and predictions are
    computed at full precision; float32 and float64 outputs are returned as they are."""
    return output.float() if output.dtype in HALF_PRECISION else output


def compile_backends() -> list[str]:
    """Every backend ``torch.compile`` knows by name, the debugging ones included."""
    return torch.compiler.list_backends(exclude_tags=())


def build_net(spec: nn.Module | Mapping) -> nn.Module:
    """``spec`` is the net itself or a ``_target_`` config that builds it."""
    if isinstance(spec, Mapping):
        if "_target_" not in spec:
            raise ConfigError("model.net needs a _target_ naming the class to build")
        return instantiate(spec)
    return spec


class Task(pl.LightningModule):
    """Generic over ``net``; subclasses choose the loss, the metrics and how outputs are read.

    ``net`` and ``optimizer`` are given either as objects (``ClassificationTask(net=MLP(...),
    optimizer=functools.partial(torch.optim.SGD, lr=0.1))``) or as Hydra configs (the
    ``optimizer`` and ``scheduler`` groups); configs are stored in the hyperparameters so a
    checkpoint rebuilds its own model. ``scheduler`` is a scheduler group config:
    ``{scheduler: <_target_ factory>, interval: epoch|step, frequency: 1}``.
    """

    def __init__(
        self,
        net: nn.Module | Mapping,
        optimizer: Any,
        scheduler: Mapping | None = None,
        l1_penalty: float = 0.0,
        l2_penalty: float = 0.0,
        monitor: str = "val/loss",
        monitor_mode: str = "min",
        train_metrics: Sequence[str] | None = None,
        compile: bool = False,
        compile_backend: str = "inductor",
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        # Lightning collects every subclass's __init__ arguments; store them as plain
        # values and leave out a net passed as an object (it is saved in the state dict).
        self.save_hyperparameters(ignore=["net"] if isinstance(net, nn.Module) else [])
        for key, value in list(self.hparams.items()):
            self.hparams[key] = plain_config(value)
        self.l1_penalty = require_non_negative("model.l1_penalty", l1_penalty)
        self.l2_penalty = require_non_negative("model.l2_penalty", l2_penalty)
        require_choice("model.monitor_mode", monitor_mode, MODES)
        self.net = build_net(plain_config(net))
        self.optimizer_factory = checked_optimizer(plain_config(optimizer))
        self.scheduler_config = checked_scheduler(plain_config(scheduler), self.optimizer_factory)
        self.monitor = monitor
        scores = self.build_metrics()
        for stage in STAGES:
            setattr(self, f"{stage}_loss", BatchMean())
            setattr(self, f"{stage}_metrics", scores.clone(prefix=f"{stage}/"))
        if train_metrics is not None:
            select_metrics(self.train_metrics, train_metrics, key="model.train_metrics")
        allowed = ["val/loss", *(f"val/{name}" for name in scores)]
        if monitor not in allowed:
            raise ConfigError(
                f"model.monitor={monitor!r} is not logged by {type(self).__name__}; "
                f"allowed values: {', '.join(allowed)}"
            )
        self.monitor_best = MODES[monitor_mode]()
        self.compile_net = require_flag("model.compile", compile)
        if compile:  # listing the backends imports torch._dynamo: only when it is used
            require_choice("model.compile_backend", compile_backend, compile_backends())
        self.compile_backend = compile_backend
        self.net_compiled = False
        self.channels_last = require_flag("model.channels_last", channels_last)

    # --- what subclasses define -------------------------------------------------
    def build_metrics(self) -> MetricCollection:
        raise NotImplementedError

    def compute_loss(self, output: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def metric_inputs(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return output, target

    def predict_outputs(self, output: Tensor) -> Tensor:
        return output

    def decide(self, outputs: Tensor) -> tuple[Tensor, Tensor] | None:
        """Decisions from ``predict_step`` outputs: ``(labels, probabilities)``; ``None`` for
        tasks that predict values rather than classes."""
        return None

    def confusion_metric(self) -> Metric | None:
        """A confusion matrix fed with ``metric_inputs`` (so it follows the same decision
        rule as the logged metrics); ``None`` for tasks without classes."""
        return None

    # --- shared machinery ---------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last and isinstance(x, Tensor) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return full_precision(self.net(x))

    def configure_model(self) -> None:
        """``model.compile=true``: compile the net in place, once (Lightning calls this hook
        at the start of every fit, validate, test and predict). ``nn.Module.compile`` keeps
        the net's parameter names, where ``torch.compile(net)`` would wrap it and prefix
        every state-dict key with ``_orig_mod.``: a checkpoint of a compiled run loads into
        a plain net, and the other way round. Compilation itself happens at the first call
        (and again for a new input shape or train/eval mode).

        ``model.channels_last=true``: the net's 4-D weights (2-D convolution kernels) are
        stored channels-last, and ``forward`` hands 4-D inputs over in that layout, the one
        oneDNN's and cuDNN's convolution kernels prefer. The values, the names and the shapes
        of every tensor stay as they are, so the checkpoint loads into either layout; nets
        without 4-D weights or inputs are left untouched."""
        if self.channels_last:  # before compiling: the compiled graph sees the layout
            self.net.to(memory_format=torch.channels_last)
        if self.compile_net and not self.net_compiled:
            self.net.compile(backend=self.compile_backend)
            self.net_compiled = True

    def predicted_labels(self, output: Tensor) -> Tensor | None:
        """Labels the task decides from the net's raw ``output`` (None for regression)."""
        decision = self.decide(self.predict_outputs(output))
        return None if decision is None else decision[0]

    def weight_l1(self) -> Tensor:
        """Sum of |w| over the weights (``nets.parameters``: biases are not penalised)."""
        return sum(p.abs().sum() for p in self.net.parameters() if is_weight(p))

    def weight_l2(self) -> Tensor:
        """Sum of w² over the weights; the penalty is λ/2 of it, so its gradient is λ·w."""
        return sum(p.pow(2).sum() for p in self.net.parameters() if is_weight(p))

    def _shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        x, target = batch
        output = self(x)
        # Metrics first: a checked collection rejects bad targets/outputs with a clear
        # message before the loss function fails on them with a cryptic one.
        scores: MetricCollection = getattr(self, f"{stage}_metrics")
        scores.update(*self.metric_inputs(output.detach(), target))
        loss = self.compute_loss(output, target)
        stage_loss: BatchMean = getattr(self, f"{stage}_loss")
        stage_loss.update(loss.detach(), weight=len(target))  # x may be a tuple (sequences)
        if stage == "train" and self.l1_penalty:
            loss = loss + self.l1_penalty * self.weight_l1()
        if stage == "train" and self.l2_penalty:
            loss = loss + 0.5 * self.l2_penalty * self.weight_l2()
        return loss

    def training_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "test")

    def predict_step(self, batch, batch_idx: int) -> Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.predict_outputs(self(x))

    def _log_epoch(self, stage: str) -> dict[str, Tensor]:
        """Compute, log and reset a stage's metrics once per epoch.

        Steps only update metric states: handing Metric objects to ``self.log`` on every
        step costs Lightning more bookkeeping per step than a small model's step itself.
        ``compute`` reduces the states across processes, so the values are the same
        under DDP.
        """
        stage_loss: BatchMean = getattr(self, f"{stage}_loss")
        if stage_loss.update_count == 0:
            return {}
        scores: MetricCollection = getattr(self, f"{stage}_metrics")
        values = {f"{stage}/loss": stage_loss.compute(), **scores.compute()}
        stage_loss.reset()
        scores.reset()
        self.log(f"{stage}/loss", values[f"{stage}/loss"], prog_bar=True)
        self.log_dict({k: v for k, v in values.items() if k != f"{stage}/loss"})
        return values

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        values = self._log_epoch("val")
        if self.trainer.sanity_checking or not values:
            return
        self.monitor_best.update(values[self.monitor])
        self.log(f"{self.monitor}_best", self.monitor_best.compute(), prog_bar=True)

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    # --- what a checkpoint carries beyond the weights -----------------------------
    def resumable_metrics(self) -> dict[str, Metric]:
        """Metrics whose state spans a checkpoint: the best monitored value so far, and the
        training loss and metrics of an epoch a mid-epoch checkpoint cut in two. Their
        states are not in ``state_dict`` (torchmetrics states are not persistent), which
        keeps the weights' keys those of every earlier checkpoint."""
        members = {f"train_metrics.{name}": metric for name, metric in self.train_metrics.items()}
        return {"monitor_best": self.monitor_best, "train_loss": self.train_loss, **members}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[METRIC_STATES_KEY] = {
            name: {key: _copy_state(value) for key, value in metric.metric_state.items()}
            for name, metric in self.resumable_metrics().items()
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get(METRIC_STATES_KEY, {})  # absent in checkpoints from before
        for name, metric in self.resumable_metrics().items():
            for key, value in saved.get(name, {}).items():
                setattr(metric, key, _copy_state(value, self.device))

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if not self.scheduler_config:
            return optimizer
        schedule = dict(self.scheduler_config, monitor=self.monitor)
        schedule["scheduler"] = schedule["scheduler"](optimizer)
        return {"optimizer": optimizer, "lr_scheduler": schedule}
