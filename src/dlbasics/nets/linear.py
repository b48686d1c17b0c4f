"""Single affine layers: linear regression and softmax regression."""

from torch import Tensor, nn

from dlbasics.utils.checks import require_non_negative


class LinearNet(nn.Module):
    """``y = x w + b``; weights start at N(0, init_std²) and bias at 0, as in d2l."""

    def __init__(self, in_features: int, out_features: int = 1, init_std: float = 0.01) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        nn.init.normal_(
            self.linear.weight, std=require_non_negative("model.net.init_std", init_std)
        )
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x.flatten(1))


class SoftmaxRegression(LinearNet):
    """Logits of a linear classifier; the softmax lives in the loss (cross-entropy)."""

    def __init__(self, in_features: int, num_classes: int, init_std: float = 0.01) -> None:
        super().__init__(in_features, num_classes, init_std)
