"""The image shape a convolutional net is built for, checked once at build and per batch.

A net gets ``input_shape = [channels, height, width]`` from the data
(``${data_info.input_shape}``), so a data set the net cannot read fails with
the key to change, not as a shape error deep inside torch.
"""

from collections.abc import Sequence

from torch import Tensor

from dlbasics.errors import ConfigError


def image_shape(input_shape: Sequence[int] | None, net: str) -> tuple[int, int, int]:
    """``input_shape`` as ``(C, H, W)``; data without images (``null``) is a ConfigError."""
    if input_shape is None:
        raise ConfigError(
            f"{net} needs image data (data_info.input_shape = [channels, height, width]); "
            f"this data set publishes none. Use data=mnist, data=fashion_mnist or data=cifar10."
        )
    if len(input_shape) != 3 or any(int(side) < 1 for side in input_shape):
        raise ConfigError(
            f"model.net.input_shape must be [channels, height, width], got {list(input_shape)}"
        )
    channels, height, width = (int(side) for side in input_shape)
    return channels, height, width


def check_batch(x: Tensor, expected: tuple[int, int, int], net: str) -> None:
    """A batch must be ``(B, *expected)``: the net's first layer was sized for it."""
    if x.ndim != 4 or tuple(x.shape[1:]) != expected:
        raise ConfigError(
            f"{net} was built for images of shape {list(expected)} (model.net.input_shape) "
            f"but got a batch of shape {list(x.shape)}. Leave model.net.input_shape at "
            f"${{data_info.input_shape}} so the net follows the data set."
        )
