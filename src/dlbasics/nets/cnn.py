"""A small convolutional classifier: ``[conv → norm → activation → pool] × n → linear``.

The default is the normalization study's net (NNDL 7.5.1): two blocks of conv
20@5×5 (padding 2, so a block only halves the map in its pooling) → norm →
ReLU → 2×2 max-pool, then one linear layer; on 28×28 MNIST that is 20·7·7 = 980
inputs to the linear layer.
"""

from collections.abc import Sequence

from torch import Tensor, nn

from dlbasics.errors import ConfigError
from dlbasics.nets.conv_ops import ConvLayers
from dlbasics.nets.image_shape import check_batch, image_shape
from dlbasics.nets.mlp import make_activation
from dlbasics.nets.norm import make_norm
from dlbasics.utils.checks import require_sizes


class ConvPoolNet(nn.Module):
    """``len(channels)`` conv blocks, each halving the map, then a linear layer to the logits."""

    def __init__(
        self,
        input_shape: Sequence[int] | None,
        num_classes: int,
        channels: Sequence[int] = (20, 20),
        kernel_size: int = 5,
        activation: str = "relu",
        pool: str = "max",
        norm: str = "none",
        conv_impl: str = "torch",
    ) -> None:
        super().__init__()
        self.input_shape = image_shape(input_shape, "model=cnn")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(
                f"model.net.kernel_size must be odd (padding keeps the map size), got {kernel_size}"
            )
        channels = require_sizes("model.net.channels", channels)
        in_channels, height, width = self.input_shape
        if min(height, width) < 2 ** len(channels):
            raise ConfigError(
                f"model=cnn halves the map {len(channels)} times (model.net.channels="
                f"{list(channels)}) and needs images of at least {2 ** len(channels)} pixels "
                f"a side; the data gives {height}×{width}. Use fewer blocks or larger images."
            )
        layers = ConvLayers(conv_impl)
        blocks: list[nn.Module] = []
        for out_channels in channels:
            blocks += [
                layers.conv(in_channels, int(out_channels), kernel_size, padding=kernel_size // 2),
                make_norm(norm, int(out_channels), feature_maps=True),
                make_activation(activation),
                layers.pool(pool, 2),
            ]
            in_channels = int(out_channels)
            height, width = height // 2, width // 2
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(in_channels * height * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        check_batch(x, self.input_shape, "model=cnn")
        return self.classifier(self.features(x).flatten(1))
