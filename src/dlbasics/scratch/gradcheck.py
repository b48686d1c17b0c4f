"""Does an operator's backward compute its derivative? Compare it with central finite
differences in float64, element by element, and name the worst element when it does not.

    from dlbasics.scratch.gradcheck import gradcheck
    gradcheck(MyOp().double(), torch.randn(4, 3, dtype=torch.float64))

The op's scalar output ``L = Σ g ⊙ op(x)`` (with a fixed random ``g``) is differentiated
both ways with respect to every floating-point input and every parameter of the op.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from dlbasics.errors import DlbasicsError
from dlbasics.scratch.ops import Op


class GradcheckError(DlbasicsError):
    """The backward of an operator disagrees with finite differences."""


@dataclass(frozen=True)
class Worst:
    """The element where analytic and numeric derivatives differ most."""

    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float

    @property
    def error(self) -> float:
        return abs(self.analytic - self.numeric)


def _scalar(op: Op, inputs: Sequence[Tensor], upstream: Tensor) -> float:
    return float((op(*inputs) * upstream).sum())


def _numeric(
    op: Op, inputs: Sequence[Tensor], upstream: Tensor, tensor: Tensor, eps: float
) -> Tensor:
    estimate = torch.zeros_like(tensor)
    flat, out = tensor.data.view(-1), estimate.view(-1)
    for i in range(flat.numel()):
        original = float(flat[i])
        flat[i] = original + eps
        above = _scalar(op, inputs, upstream)
        flat[i] = original - eps
        below = _scalar(op, inputs, upstream)
        flat[i] = original
        out[i] = (above - below) / (2 * eps)
    return estimate


def gradcheck(
    op: Op,
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    seed: int = 0,
) -> Worst:
    """The worst element over all checked tensors; GradcheckError when it is off by more
    than ``atol + rtol·|numeric|``. Inputs and parameters must be float64 (in float32 the
    finite differences are too coarse to judge a backward)."""
    named = [(f"input {i}", x) for i, x in enumerate(inputs) if x.is_floating_point()]
    named += [(f"parameter {n}", p) for n, p in op.named_parameters()]
    for name, tensor in named:
        if tensor.dtype != torch.float64:
            raise GradcheckError(
                f"gradcheck of {op}: {name} is {tensor.dtype}; use float64 "
                f"(op.double(), x.double())"
            )
    output = op(*inputs)
    upstream = torch.randn(
        output.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    grad_input = op.backward(upstream)
    analytic = {f"input {i}": grad_input for i, x in enumerate(inputs[:1]) if x.is_floating_point()}
    analytic.update({f"parameter {n}": p.grad for n, p in op.named_parameters()})
    worst: Worst | None = None
    for name, tensor in named:
        if name not in analytic:
            continue  # a later input (e.g. a loss's targets) has no gradient
        numeric = _numeric(op, inputs, upstream, tensor, eps)
        difference = (analytic[name] - numeric).abs()
        index = tuple(int(i) for i in torch.unravel_index(difference.argmax(), difference.shape))
        candidate = Worst(name, index, float(analytic[name][index]), float(numeric[index]))
        if worst is None or candidate.error > worst.error:
            worst = candidate
        if bool((difference > atol + rtol * numeric.abs()).any()):
            raise GradcheckError(
                f"gradcheck of {op}: {name} at index {candidate.index}: backward gives "
                f"{candidate.analytic:.6g}, finite differences {candidate.numeric:.6g} "
                f"(|difference| {candidate.error:.3g} > {atol} + {rtol}·|numeric|)"
            )
    op(*inputs)  # leave the op's cache as a plain forward would
    if worst is None:
        raise GradcheckError(f"gradcheck of {op}: nothing to check (no float64 input or parameter)")
    return worst
