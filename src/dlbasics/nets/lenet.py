"""LeNet-5 in its two textbook forms (NNDL 5.3.1 and d2l 7.6).

``nndl``: conv 6@5×5 → ReLU → max-pool 2 → conv 16@5×5 → ReLU → avg-pool 2 →
conv 120@5×5 → ReLU → FC 84 → ReLU → FC classes, built for 32×32 images
(the book resizes MNIST to 32). ``d2l``: the classic sigmoid net with average
pooling: conv 6@5×5 (padding 2) → sigmoid → avg-pool → conv 16@5×5 → sigmoid →
avg-pool → FC 120 → sigmoid → FC 84 → sigmoid → FC classes, built for 28×28.

Initialisation decides the book's 80-step subset run: from He-normal convolutions and
Xavier-uniform linear layers (``init: he_xavier``, the default) LeNet reaches about the
book's accuracy and from Xavier-uniform weights throughout it comes close; from torch's
own initialisation (``init: default``) it learns much more slowly (the README has the
measurements over three seeds).
d2l initialises its sigmoid net Xavier-uniform throughout (``init: xavier``, set by
``d2l/lenet_fmnist``).

An image smaller than 32×32 in the ``nndl`` form gets 2 pixels of zero padding in
the first convolution (``first_padding: null``), so a 28×28 image's first map is
the 28×28 a 32×32 image gives; the fully connected sizes follow from the input.
"""

from collections.abc import Sequence

from torch import Tensor, nn

from dlbasics.errors import ConfigError
from dlbasics.nets.conv_ops import ConvLayers, output_size
from dlbasics.nets.image_shape import check_batch, image_shape
from dlbasics.nets.init import init_layers
from dlbasics.nets.mlp import make_activation
from dlbasics.nets.norm import make_norm
from dlbasics.utils.checks import require_choice

# per variant: activation, the two poolings, whether a third conv (120@5×5) follows,
# the fully connected hidden widths, and the first convolution's padding for 28×28 data
VARIANTS = {
    "nndl": {"activation": "relu", "pools": ("max", "avg"), "conv3": True, "hidden": (84,)},
    "d2l": {"activation": "sigmoid", "pools": ("avg", "avg"), "conv3": False, "hidden": (120, 84)},
}
KERNEL = 5


def _first_padding(variant: str, side: int, first_padding: int | None) -> int:
    if first_padding is not None:
        return int(first_padding)
    # d2l pads 28×28 by 2 throughout; the NNDL net needs it only below its 32×32 design size
    return 2 if variant == "d2l" or side < 32 else 0


def feature_side(variant: str, side: int, padding: int) -> int:
    """Side of the last feature map for an input of ``side`` pixels (< 1: it does not fit)."""
    side = output_size(side, KERNEL, padding=padding) // 2  # conv1, pool
    side = output_size(side, KERNEL) // 2  # conv2, pool
    return output_size(side, KERNEL) if VARIANTS[variant]["conv3"] else side


class LeNet5(nn.Module):
    """LeNet-5 for ``input_shape = [C, H, W]`` images (``variant``: ``nndl`` or ``d2l``)."""

    def __init__(
        self,
        input_shape: Sequence[int] | None,
        num_classes: int,
        variant: str = "nndl",
        first_padding: int | None = None,
        conv_impl: str = "torch",
        norm: str = "none",
        init: str = "he_xavier",
    ) -> None:
        super().__init__()
        require_choice("model.net.variant", variant, sorted(VARIANTS))
        self.input_shape = image_shape(input_shape, "model=lenet")
        channels, height, width = self.input_shape
        spec = VARIANTS[variant]
        padding = _first_padding(variant, min(height, width), first_padding)
        side = feature_side(variant, min(height, width), padding)
        if side < 1:
            smallest = next(s for s in range(1, 512) if feature_side(variant, s, padding) >= 1)
            raise ConfigError(
                f"model=lenet ({variant}) needs images of at least {smallest}×{smallest} "
                f"with first_padding={padding}; the data gives {height}×{width}. "
                f"Resize the data (e.g. data.resize=32) or raise model.net.first_padding."
            )
        layers = ConvLayers(conv_impl)

        def activation() -> nn.Module:
            return make_activation(spec["activation"])

        features: list[nn.Module] = [
            layers.conv(channels, 6, KERNEL, padding=padding),
            make_norm(norm, 6, feature_maps=True),
            activation(),
            layers.pool(spec["pools"][0], 2),
            layers.conv(6, 16, KERNEL),
            make_norm(norm, 16, feature_maps=True),
            activation(),
            layers.pool(spec["pools"][1], 2),
        ]
        width_out = 16
        if spec["conv3"]:
            features += [
                layers.conv(16, 120, KERNEL),
                make_norm(norm, 120, feature_maps=True),
                activation(),
            ]
            width_out = 120
        self.features = nn.Sequential(*features)
        last_h = feature_side(variant, height, padding)
        last_w = feature_side(variant, width, padding)
        head: list[nn.Module] = [nn.Flatten()]
        fan_in = width_out * last_h * last_w
        for hidden in spec["hidden"]:
            head += [nn.Linear(fan_in, hidden), make_norm(norm, hidden), activation()]
            fan_in = hidden
        head.append(nn.Linear(fan_in, num_classes))
        self.classifier = nn.Sequential(*head)
        init_layers(self, init)

    def forward(self, x: Tensor) -> Tensor:
        check_batch(x, self.input_shape, "model=lenet")
        return self.classifier(self.features(x))
