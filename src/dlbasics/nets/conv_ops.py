"""2-D convolution and pooling written out with tensor ops (NNDL 5.1–5.3).

A convolution is a matrix product once every receptive field is laid out as a
column: ``unfold`` cuts the padded image into ``C·k·k``-long columns, one per
output position, and the kernel, flattened to ``(out, C·k·k)``, multiplies them
all at once. Pooling unfolds each channel on its own and reduces every column
with a max or a mean. No Python loop runs per pixel.

The modules subclass torch's own layers, so they hold the same parameters with
the same initialisation and state-dict keys: a net trained with
``conv_impl=unfold`` loads into ``conv_impl=torch`` and back.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_choice


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of the map a kernel leaves: ``⌊(size + 2·padding − kernel) / stride⌋ + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Cross-correlation of ``x (B, C, H, W)`` with ``weight (O, C, kh, kw)``, zero padding."""
    batch, channels, height, width = x.shape
    out_channels, in_channels, kh, kw = weight.shape
    if channels != in_channels:
        raise ValueError(f"input has {channels} channels, the kernel expects {in_channels}")
    stride, padding = _pair(stride), _pair(padding)
    out_h = output_size(height, kh, stride[0], padding[0])
    out_w = output_size(width, kw, stride[1], padding[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"a {kh}×{kw} kernel does not fit a {height}×{width} input with padding {padding}"
        )
    columns = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (B, C·kh·kw, L)
    out = weight.reshape(out_channels, -1) @ columns  # (B, O, L)
    if bias is not None:
        out = out + bias.view(1, -1, 1)
    return out.view(batch, out_channels, out_h, out_w)


def _pooled_columns(
    x: Tensor, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int], fill
) -> tuple[Tensor, int, int]:
    batch, channels, height, width = x.shape
    if padding != (0, 0):
        x = F.pad(x, (padding[1], padding[1], padding[0], padding[0]), value=fill)
    out_h = output_size(x.shape[2], kernel[0], stride[0])
    out_w = output_size(x.shape[3], kernel[1], stride[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(f"a {kernel} pooling window does not fit a {height}×{width} input")
    # one channel at a time: (B·C, 1, H, W) → (B·C, kh·kw, L)
    columns = F.unfold(x.reshape(batch * channels, 1, *x.shape[2:]), kernel, stride=stride)
    return columns, out_h, out_w


def _pool2d(x, kernel_size, stride, padding, fill: float, reduce) -> Tensor:
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    columns, out_h, out_w = _pooled_columns(x, kernel, stride, _pair(padding), fill)
    return reduce(columns, dim=1).view(x.shape[0], x.shape[1], out_h, out_w)


def max_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Largest value in every window; padded positions are −∞, so they never win."""
    return _pool2d(x, kernel_size, stride, padding, float("-inf"), torch.amax)


def avg_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Mean of every window; padded zeros count, as in torch's default ``count_include_pad``."""
    return _pool2d(x, kernel_size, stride, padding, 0.0, torch.mean)


class UnfoldConv2d(nn.Conv2d):
    """``nn.Conv2d``'s parameters, computed by :func:`conv2d` (zero padding, no groups)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.groups != 1 or self.dilation != (1, 1) or self.padding_mode != "zeros":
            raise ConfigError("conv_impl=unfold supports groups=1, dilation=1, zero padding")
        if isinstance(self.padding, str):
            raise ConfigError("conv_impl=unfold takes an integer padding, not 'same'/'valid'")

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)


class UnfoldMaxPool2d(nn.MaxPool2d):
    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class UnfoldAvgPool2d(nn.AvgPool2d):
    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


CONV_IMPLS: dict[str, type[nn.Conv2d]] = {"torch": nn.Conv2d, "unfold": UnfoldConv2d}
POOL_IMPLS: dict[str, dict[str, type[nn.Module]]] = {
    "torch": {"max": nn.MaxPool2d, "avg": nn.AvgPool2d},
    "unfold": {"max": UnfoldMaxPool2d, "avg": UnfoldAvgPool2d},
}


class ConvLayers:
    """Builds a net's convolutions and poolings with one implementation (``conv_impl``)."""

    def __init__(self, conv_impl: str = "torch") -> None:
        self.impl = require_choice("model.net.conv_impl", conv_impl, sorted(CONV_IMPLS))

    def conv(self, *args, **kwargs) -> nn.Conv2d:
        return CONV_IMPLS[self.impl](*args, **kwargs)

    def pool(self, kind: str, kernel_size: int, stride: int | None = None, padding: int = 0):
        require_choice("model.net.pool", kind, sorted(POOL_IMPLS[self.impl]))
        return POOL_IMPLS[self.impl][kind](kernel_size, stride, padding)
