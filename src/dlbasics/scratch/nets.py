"""Nets built from scratch operators: tensors in, logits or predictions out, and a
``backward`` that fills every parameter's ``.grad`` by hand.

``ScratchMLP`` keeps ``torch.nn.Linear``'s weight layout and, with ``init:
torch_default``, its initial draws, so it and the framework ``MLP`` start from the same
weights under the same seed.
"""

from collections.abc import Sequence

from torch import Tensor, nn

from dlbasics.scratch.ops import Sequential, flatten, mlp_ops


class ScratchMLP(nn.Module):
    """``in_features → hidden_sizes… → out_features``, activation and dropout between."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden_sizes: Sequence[int] = (256,),
        activation: str = "relu",
        activation_kwargs: dict | None = None,
        dropout: float = 0.0,
        init: str = "torch_default",
        init_scale: float = 0.01,
    ) -> None:
        super().__init__()
        sizes = [in_features, *(int(h) for h in hidden_sizes), out_features]
        self.layers = Sequential(
            *mlp_ops(sizes, activation, dropout, init, init_scale, activation_kwargs)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(flatten(x))

    def backward(self, grad: Tensor) -> Tensor:
        """∂L/∂input from ∂L/∂output; the parameters' gradients land in ``.grad``."""
        return self.layers.backward(grad)


class ScratchSoftmaxRegression(ScratchMLP):
    """d2l's from-scratch softmax regression: one linear layer to class logits, W ~ N(0, σ²)."""

    def __init__(
        self, in_features: int, num_classes: int, init: str = "normal", init_scale: float = 0.01
    ) -> None:
        super().__init__(in_features, num_classes, (), init=init, init_scale=init_scale)


class ScratchLinearRegression(ScratchMLP):
    """``y = x w + b`` from scratch, W ~ N(0, σ²)."""

    def __init__(
        self,
        in_features: int,
        out_features: int = 1,
        init: str = "normal",
        init_scale: float = 0.01,
    ) -> None:
        super().__init__(in_features, out_features, (), init=init, init_scale=init_scale)
