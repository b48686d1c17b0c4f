"""Losses with their own backward; each is the batch mean, as torch's losses by default.

``forward(output, target)`` returns the loss; ``backward()`` returns ∂loss/∂output.
"""

import torch
from torch import Tensor

from dlbasics.errors import DataError
from dlbasics.scratch.ops import Op


class SoftmaxCrossEntropy(Op):
    """``−(1/N) Σ_n log softmax(z_n)[y_n]`` with ``log softmax(z) = z − logsumexp(z)``,
    where ``logsumexp(z) = m + log Σ e^(z−m)`` and ``m = max z``, so logits of ±1000 stay
    finite. ∂/∂z = (softmax(z) − onehot(y)) / N."""

    def compute(self, logits: Tensor, target: Tensor) -> Tensor:
        if logits.ndim != 2 or target.shape != (len(logits),):
            raise DataError(
                f"{self}: logits (N, classes) and class ids (N,), got "
                f"{tuple(logits.shape)} and {tuple(target.shape)}"
            )
        top = logits.max(dim=1, keepdim=True).values
        log_normaliser = top + (logits - top).exp().sum(1, keepdim=True).log()
        log_probabilities = logits - log_normaliser
        self.saved = (log_probabilities.exp(), target)
        return -log_probabilities.gather(1, target.view(-1, 1)).mean()

    def gradient(self, grad: Tensor) -> Tensor:
        probabilities, target = self.saved
        onehot = torch.zeros_like(probabilities).scatter_(1, target.view(-1, 1), 1.0)
        return grad * (probabilities - onehot) / len(target)


class BCEWithLogits(Op):
    """``(1/N) Σ max(z, 0) − z·y + log(1 + e^−|z|)``, the sigmoid cross-entropy written so
    that large |z| neither overflows nor loses the loss. ∂/∂z = (σ(z) − y) / N."""

    def compute(self, logits: Tensor, target: Tensor) -> Tensor:
        target = target.to(logits.dtype).view_as(logits)
        self.saved = (logits, target)
        losses = logits.clamp(min=0) - logits * target + torch.log1p((-logits.abs()).exp())
        return losses.mean()

    def gradient(self, grad: Tensor) -> Tensor:
        logits, target = self.saved
        return grad * (torch.sigmoid(logits) - target) / logits.numel()


class MSE(Op):
    """``(1/N) Σ (ŷ − y)²`` over all elements; ∂/∂ŷ = 2(ŷ − y) / N."""

    def compute(self, prediction: Tensor, target: Tensor) -> Tensor:
        target = target.to(prediction.dtype).view_as(prediction)
        self.saved = (prediction - target,)
        return (prediction - target).pow(2).mean()

    def gradient(self, grad: Tensor) -> Tensor:
        (error,) = self.saved
        return grad * 2 * error / error.numel()


LOSSES = {"cross_entropy": SoftmaxCrossEntropy, "bce_with_logits": BCEWithLogits, "mse": MSE}
