"""Convolution and pooling written out, LeNet-5, ResNet-18, the small CNN and the norm option:
each against torch's own layers, torchvision's ResNet-18, or the books' worked examples."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18

from dlbasics.errors import ConfigError
from dlbasics.nets import MLP, ConvPoolNet, LeNet5, ResNet18
from dlbasics.nets.conv_ops import UnfoldConv2d, avg_pool2d, conv2d, max_pool2d
from dlbasics.nets.parameters import split_weights


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [
        ((2, 3, 9, 7), (4, 3, 3, 3), 1, 0),
        ((1, 2, 8, 8), (5, 2, 3, 2), 2, 1),
        ((3, 1, 6, 5), (2, 1, 1, 1), 1, 2),
    ],
)
def test_conv2d_equals_torch_on_random_inputs(shape, kernel, stride, padding) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=generator)
    weight = torch.randn(kernel, generator=generator)
    bias = torch.randn(kernel[0], generator=generator)
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    assert torch.allclose(conv2d(x, weight, bias, stride, padding), expected, atol=1e-5)


def test_the_books_convolution_examples() -> None:
    image = torch.arange(1.0, 10.0).view(1, 1, 3, 3)
    kernel = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    assert conv2d(image, kernel).squeeze().tolist() == [[25.0, 31.0], [43.0, 49.0]]
    # two input channels [[0..8], [1..9]], three output channels of all-ones 2×2 kernels
    two_channels = torch.stack([torch.arange(0.0, 9.0), torch.arange(1.0, 10.0)]).view(1, 2, 3, 3)
    out = conv2d(two_channels, torch.ones(3, 2, 2, 2))
    assert out.shape == (1, 3, 2, 2)
    for channel in out[0]:
        assert channel.tolist() == [[20.0, 28.0], [44.0, 52.0]]
    eight = torch.randn(1, 1, 8, 8)
    three = torch.randn(1, 1, 3, 3)
    assert conv2d(eight, three, padding=1).shape[-2:] == (8, 8)
    assert conv2d(eight, three, stride=2, padding=1).shape[-2:] == (4, 4)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_pooling_equals_torch(kernel, stride, padding) -> None:
    x = torch.randn(2, 3, 9, 8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(
        max_pool2d(x, kernel, stride, padding), F.max_pool2d(x, kernel, stride, padding)
    )
    assert torch.allclose(
        avg_pool2d(x, kernel, stride, padding),
        F.avg_pool2d(x, kernel, stride, padding),
        atol=1e-6,
    )


def test_unfold_layer_has_torchs_parameters_and_gradients() -> None:
    torch.manual_seed(0)
    reference = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    written = UnfoldConv2d(3, 4, 3, stride=2, padding=1)
    written.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 7, 7, requires_grad=True)
    x_copy = x.detach().clone().requires_grad_(True)
    reference(x).square().sum().backward()
    written(x_copy).square().sum().backward()
    assert torch.allclose(written.weight.grad, reference.weight.grad, atol=1e-5)
    assert torch.allclose(written.bias.grad, reference.bias.grad, atol=1e-5)
    assert torch.allclose(x_copy.grad, x.grad, atol=1e-5)


def test_a_kernel_larger_than_the_padded_input_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        conv2d(torch.randn(1, 1, 3, 3), torch.randn(1, 1, 5, 5))


def test_lenet_layouts_and_parameter_counts() -> None:
    nndl = LeNet5([1, 32, 32], 10)
    assert nndl.features(torch.randn(2, 1, 32, 32)).shape == (2, 120, 1, 1)
    assert sum(p.numel() for p in nndl.parameters()) == 61_706  # the classic LeNet-5
    assert [type(m).__name__ for m in nndl.features if not isinstance(m, nn.Identity)] == [
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "AvgPool2d", "Conv2d", "ReLU"
    ]  # fmt: skip
    padded = LeNet5([1, 28, 28], 10)  # 2 pixels of padding: the same maps as for 32×32
    assert sum(p.numel() for p in padded.parameters()) == 61_706
    d2l = LeNet5([1, 28, 28], 10, variant="d2l")
    assert d2l.features(torch.randn(2, 1, 28, 28)).shape == (2, 16, 5, 5)
    assert sum(p.numel() for p in d2l.parameters()) == 61_706  # 400→120→84→10 head
    assert isinstance(d2l.features[2], nn.Sigmoid) and isinstance(d2l.features[3], nn.AvgPool2d)


def test_lenet_trains_the_same_on_either_convolution() -> None:
    torch.manual_seed(0)
    fast = LeNet5([1, 28, 28], 10, conv_impl="torch")
    written = LeNet5([1, 28, 28], 10, conv_impl="unfold")
    written.load_state_dict(fast.state_dict())
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    for net in (fast, written):
        F.cross_entropy(net(x), y).backward()
    assert torch.allclose(written(x), fast(x), atol=1e-5)
    for (name, a), (_, b) in zip(fast.named_parameters(), written.named_parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-5), name


@pytest.mark.parametrize("conv_impl", ["torch", "unfold"])
def test_resnet18_equals_torchvisions(conv_impl) -> None:
    torch.manual_seed(0)
    reference = resnet18(num_classes=10).eval()
    for module in reference.modules():  # non-trivial running statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    ours = ResNet18([3, 32, 32], 10, conv_impl=conv_impl).eval()
    ours.load_state_dict(reference.state_dict())  # same names, same shapes
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5)


def test_resnet18_without_residuals_has_no_shortcut_and_the_cifar_stem_keeps_the_map() -> None:
    with_residual = ResNet18([1, 32, 32], 10)
    plain = ResNet18([1, 32, 32], 10, use_residual=False)
    projections = sum(
        p.numel() for name, p in with_residual.named_parameters() if "downsample" in name
    )
    assert projections > 0  # stages 2–4 project their input: 1×1 conv + norm
    assert sum(p.numel() for p in with_residual.parameters()) - projections == sum(
        p.numel() for p in plain.parameters()
    )
    x = torch.randn(1, 1, 32, 32)
    imagenet_map = with_residual.maxpool(
        with_residual.relu(with_residual.bn1(with_residual.conv1(x)))
    )
    cifar = ResNet18([1, 32, 32], 10, stem="cifar")
    cifar_map = cifar.maxpool(cifar.relu(cifar.bn1(cifar.conv1(x))))
    assert imagenet_map.shape[-2:] == (8, 8) and cifar_map.shape[-2:] == (32, 32)


def test_the_normalization_study_cnn_reaches_980_features() -> None:
    net = ConvPoolNet([1, 28, 28], 10, norm="batch")
    assert net.classifier.in_features == 980
    kinds = [type(m).__name__ for m in net.features]
    assert kinds[:4] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_norm_sits_between_the_layer_and_its_activation() -> None:
    batch = MLP(10, 3, hidden_sizes=[8, 8], norm="batch")
    assert [type(m).__name__ for m in batch.layers] == [
        "Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"
    ]  # fmt: skip
    layer = MLP(10, 3, hidden_sizes=[8], norm="layer")
    assert isinstance(layer.layers[1], nn.LayerNorm)
    conv_layer = ConvPoolNet([1, 28, 28], 10, norm="layer")
    assert (
        isinstance(conv_layer.features[1], nn.GroupNorm) and conv_layer.features[1].num_groups == 1
    )
    with pytest.raises(ConfigError, match="model.net.norm='group' is unknown"):
        MLP(10, 3, norm="group")


@pytest.mark.parametrize(
    "net",
    [
        lambda: MLP(10, 3, hidden_sizes=[8], norm="batch"),
        lambda: LeNet5([1, 28, 28], 10, norm="batch"),
        lambda: ResNet18([1, 28, 28], 10, norm="layer"),
    ],
)
def test_norm_scales_and_shifts_are_never_penalised(net) -> None:
    module = net()
    weights, others = split_weights(module.parameters())
    norms = [
        m
        for m in module.modules()
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm))
    ]
    assert norms
    weight_ids = {id(p) for p in weights}
    assert not any(id(p) in weight_ids for norm in norms for p in norm.parameters())
    assert all(p.ndim >= 2 for p in weights) and all(p.ndim == 1 for p in others)


def test_image_nets_refuse_data_they_cannot_read() -> None:
    with pytest.raises(ConfigError, match="model=lenet needs image data"):
        LeNet5(None, 10)
    with pytest.raises(ConfigError, match="needs images of at least 28×28.*data.resize=32"):
        LeNet5([1, 16, 16], 10)
    with pytest.raises(ConfigError, match="needs images of at least 4 pixels"):
        ConvPoolNet([1, 3, 3], 10)
    net = ResNet18([1, 28, 28], 10)
    with pytest.raises(
        ConfigError, match=r"built for images of shape \[1, 28, 28\].*\[2, 3, 32, 32\]"
    ):
        net(torch.randn(2, 3, 32, 32))  # a 3-channel data set into a 1-channel net


def test_he_xavier_init_draws_each_layer_type_by_its_rule() -> None:
    torch.manual_seed(0)
    net = LeNet5([1, 32, 32], 10, init="he_xavier")
    conv = net.features[-3]  # conv 120@5×5: 16·25 = 400 inputs
    assert float(conv.weight.std()) == pytest.approx((2 / 400) ** 0.5, rel=0.05)  # He normal
    head = net.classifier[1]  # 120 → 84, Xavier uniform: bound √(6 / (120 + 84))
    bound = (6 / (120 + 84)) ** 0.5
    assert float(head.weight.abs().max()) <= bound
    assert float(head.weight.abs().max()) > 0.9 * bound
    assert all(
        float(m.bias.abs().sum()) == 0
        for m in net.modules()
        if hasattr(m, "bias") and m.bias is not None
    )
    with pytest.raises(ConfigError, match="model.net.init='glorot' is unknown"):
        LeNet5([1, 32, 32], 10, init="glorot")
