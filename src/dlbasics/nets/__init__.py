"""Plain ``nn.Module`` architectures: tensors in, logits or predictions out."""

from dlbasics.nets.linear import LinearNet, SoftmaxRegression
from dlbasics.nets.mlp import MLP, make_activation

__all__ = ["MLP", "LinearNet", "SoftmaxRegression", "make_activation"]
