"""Checks on what reaches a metric, so a bad batch fails with one clear message.

torchmetrics reports a class id that is out of range or a target that is not
0/1 with a generic error (or, for NaN scores, not at all: a NaN is silently
read as "below the threshold"). These checks name the shape or the value and
the fix. ``CheckedCollection`` runs them before every update, and tasks update
their metrics before computing the loss, so the message comes before any
cryptic error from the loss function.

They run on every training step, so the value checks first look at a few
reductions, read from an accelerator in one transfer per batch (on the CPU, where
a read costs nothing, one by one): NaN and Inf survive a sum, and a class id out
of range moves the smallest or the largest.
Only a batch that fails this quick test is searched element by element, which
raises the message naming the problem (or finds nothing, when a finite sum
merely overflowed).
"""

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection

from dlbasics.errors import DataError

InputCheck = Callable[[Tensor, Tensor], None]


def _shape(tensor: Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def check_finite(preds: Tensor) -> None:
    """A NaN score cannot be ranked or thresholded; say where it is instead of guessing
    (searched for only when the scores' sum is not finite)."""
    if preds.is_floating_point() and not math.isfinite(preds.sum(dtype=torch.float32).item()):
        bad = ~torch.isfinite(preds)
        if bool(bad.any()):
            first = tuple(int(i) for i in bad.nonzero()[0])
            raise DataError(
                f"predictions of shape {_shape(preds)} hold {int(bad.sum())} non-finite "
                f"value(s), first at index {first} ({float(preds[first])}); if they come "
                f"from a model in training it diverged: lower optimizer.lr or set "
                f"trainer.gradient_clip_val"
            )


def check_multilabel_inputs(preds: Tensor, target: Tensor, num_labels: int) -> None:
    """Scores ``(N, num_labels)`` and 0/1 targets of the same shape."""
    if preds.ndim != 2 or preds.shape[1] != num_labels:
        raise DataError(
            f"multilabel predictions must have shape (N, num_labels={num_labels}), got "
            f"{_shape(preds)}; the net's out_features must equal the number of labels"
        )
    if _shape(target) != _shape(preds):
        raise DataError(
            f"multilabel targets must have shape {_shape(preds)} (one 0/1 column per label), "
            f"got {_shape(target)}; check that the data set's label vectors have "
            f"{num_labels} entries"
        )
    bad = (target != 0) & (target != 1)
    if bool(bad.any()):
        value = target[bad][0].item()
        raise DataError(
            f"multilabel targets must be 0/1, found {value!r} "
            f"({int(bad.sum())} of {target.numel()} entries are not 0/1); "
            f"encode each sample's label set as a 0/1 vector"
        )
    check_finite(preds)


def check_multiclass_inputs(preds: Tensor, target: Tensor, num_classes: int) -> None:
    """Scores ``(N, num_classes)`` (or class ids ``(N,)``) and integer class ids ``(N,)``."""
    if target.ndim != 1 or target.is_floating_point():
        raise DataError(
            f"class targets must be a 1-D tensor of integer class ids, got "
            f"{target.dtype} of shape {_shape(target)}"
        )
    expected = (len(target), num_classes) if preds.is_floating_point() else (len(target),)
    if _shape(preds) != expected:
        raise DataError(
            f"predictions must have shape {expected} for {len(target)} targets and "
            f"num_classes={num_classes}, got {_shape(preds)}"
        )
    if len(target) == 0 or _values_look_valid(preds, target, num_classes):
        return
    bad = (target < 0) | (target >= num_classes)
    if bool(bad.any()):
        raise DataError(
            f"class id {int(target[bad][0])} in the targets is out of range for "
            f"num_classes={num_classes} (allowed 0..{num_classes - 1}); the data set and "
            f"the model disagree on the number of classes"
        )
    check_finite(preds)


def _values_look_valid(
    preds: Tensor, target: Tensor, num_classes: int, one_transfer: bool | None = None
) -> bool:
    """The quick test: the smallest class id is not negative, the largest is below
    ``num_classes`` and the scores have a finite sum.

    On the CPU reading a number costs no transfer, so each is read as it is (two kernels
    in all); elsewhere (or with ``one_transfer``) they are stacked and read in one
    transfer, as float32: the largest id minus ``num_classes`` (in int64, so narrow id
    types cannot wrap) keeps its sign whatever its size."""
    lowest, highest = target.aminmax()
    total = preds.sum(dtype=torch.float32) if preds.is_floating_point() else None
    if not (target.device.type != "cpu" if one_transfer is None else one_transfer):
        ids_valid = lowest.item() >= 0 and highest.item() < num_classes
        return ids_valid and (total is None or math.isfinite(total.item()))
    quick = [lowest.float(), (highest.long() - num_classes).float()]
    values = torch.stack(quick if total is None else [*quick, total]).tolist()
    return values[0] >= 0 and values[1] < 0 and all(map(math.isfinite, values[2:]))


class CheckedCollection(MetricCollection):
    """A MetricCollection that validates ``(preds, target)`` before updating its metrics."""

    def __init__(self, metrics: dict[str, Any], check: InputCheck, **kwargs: Any) -> None:
        super().__init__(metrics, **kwargs)
        self.check_inputs = check

    def update(self, preds: Tensor, target: Tensor) -> None:
        self.check_inputs(preds, target)
        if len(self) == 1:  # e.g. training's acc: no compute groups to keep, so update it alone
            # (straight from the module dict: children() would hash the metric, which
            # torchmetrics does from its states, on every step)
            next(iter(self._modules.values())).update(preds, target)
        else:
            super().update(preds, target)

    def forward(self, preds: Tensor, target: Tensor) -> dict[str, Any]:
        self.check_inputs(preds, target)
        return super().forward(preds, target)
