"""ResNet-18 for small images, with and without its residual connections (NNDL 5.5).

Stem, then four stages of two basic blocks (64, 128, 256, 512 channels; stages
2–4 halve the map in their first block), global average pooling, one linear
layer. A basic block is conv 3×3 → norm → ReLU → conv 3×3 → norm, plus its
input, then ReLU; where the channels or the map size change, the input passes a
1×1 strided convolution and a norm first (the projection shortcut). With
``use_residual: false`` the addition is dropped and the same net is a plain
18-layer stack, the book's comparison.

``stem: imagenet`` is the book's (7×7/2 conv, 64 channels → norm → ReLU → 3×3/2
max-pool): it shrinks a 32×32 image to 8×8 before the first block. ``stem: cifar``
(3×3/1 conv, no pooling) keeps all 32×32 positions, at 16× the compute.
The layout and parameter names follow ``torchvision.models.resnet18``, so its
weights load into this net (the equivalence test does exactly that).
"""

from collections.abc import Sequence

from torch import Tensor, nn

from dlbasics.nets.conv_ops import ConvLayers
from dlbasics.nets.image_shape import check_batch, image_shape
from dlbasics.nets.norm import make_norm
from dlbasics.utils.checks import require_choice

STAGE_CHANNELS = (64, 128, 256, 512)
BLOCKS_PER_STAGE = 2
STEMS = ("imagenet", "cifar")


class BasicBlock(nn.Module):
    def __init__(
        self,
        layers: ConvLayers,
        in_channels: int,
        out_channels: int,
        stride: int,
        norm: str,
        use_residual: bool,
    ) -> None:
        super().__init__()
        self.use_residual = use_residual
        self.conv1 = layers.conv(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = make_norm(norm, out_channels, feature_maps=True)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = layers.conv(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = make_norm(norm, out_channels, feature_maps=True)
        self.downsample: nn.Module | None = None
        if use_residual and (stride != 1 or in_channels != out_channels):
            self.downsample = nn.Sequential(
                layers.conv(in_channels, out_channels, 1, stride, bias=False),
                make_norm(norm, out_channels, feature_maps=True),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.use_residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class ResNet18(nn.Module):
    """ResNet-18 for ``input_shape = [C, H, W]`` images and ``num_classes`` logits."""

    def __init__(
        self,
        input_shape: Sequence[int] | None,
        num_classes: int,
        use_residual: bool = True,
        stem: str = "imagenet",
        norm: str = "batch",
        conv_impl: str = "torch",
    ) -> None:
        super().__init__()
        self.input_shape = image_shape(input_shape, "model=resnet18")
        require_choice("model.net.stem", stem, STEMS)
        layers = ConvLayers(conv_impl)
        channels = self.input_shape[0]
        if stem == "imagenet":
            self.conv1 = layers.conv(channels, 64, 7, 2, 3, bias=False)
            self.maxpool: nn.Module = layers.pool("max", 3, 2, 1)
        else:
            self.conv1 = layers.conv(channels, 64, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = make_norm(norm, 64, feature_maps=True)
        self.relu = nn.ReLU(inplace=True)
        width = 64
        for stage, out_channels in enumerate(STAGE_CHANNELS, start=1):
            blocks = []
            for block in range(BLOCKS_PER_STAGE):
                stride = 2 if stage > 1 and block == 0 else 1
                blocks.append(BasicBlock(layers, width, out_channels, stride, norm, use_residual))
                width = out_channels
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes)
        for module in self.modules():  # He init for the ReLU stack, as torchvision does
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        check_batch(x, self.input_shape, "model=resnet18")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))
