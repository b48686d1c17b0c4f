"""model.channels_last=true: convolution kernels and 4-D batches in channels-last layout,
with the default layout's values, outputs, gradients and checkpoint."""

import functools

import pytest
import torch

from dlbasics.errors import ConfigError
from dlbasics.nets import MLP, LeNet5, ResNet18
from dlbasics.tasks import ClassificationTask
from dlbasics.train import train

SGD = functools.partial(torch.optim.SGD, lr=0.1, momentum=0.9)
NETS = {
    "lenet": lambda: LeNet5([1, 28, 28], 10, variant="d2l"),
    "lenet_unfold": lambda: LeNet5([1, 28, 28], 10, conv_impl="unfold"),
    "resnet18_batchnorm": lambda: ResNet18([3, 32, 32], 10, stem="cifar"),
}


def task_pair(name: str) -> tuple[ClassificationTask, ClassificationTask]:
    """The same net and weights in the default layout and channels-last."""
    torch.manual_seed(0)
    default = ClassificationTask(num_classes=10, net=NETS[name](), optimizer=SGD)
    fast = ClassificationTask(num_classes=10, net=NETS[name](), optimizer=SGD, channels_last=True)
    fast.load_state_dict(default.state_dict())
    for task in (default, fast):
        task.configure_model()  # what Lightning calls before it runs the model
    return default, fast


def kernels(task: ClassificationTask) -> list[torch.Tensor]:
    return [p for p in task.net.parameters() if p.dim() == 4]


@pytest.mark.parametrize("name", sorted(NETS))
def test_the_same_outputs_and_gradients_in_either_layout(name):
    default, fast = task_pair(name)
    assert all(k.is_contiguous(memory_format=torch.channels_last) for k in kernels(fast))
    assert any(not k.is_contiguous() for k in kernels(fast))  # kernels of over one channel
    assert all(k.is_contiguous() for k in kernels(default))
    x = torch.randn(6, *default.net.input_shape)
    target = torch.randint(0, 10, (6,))
    first_inputs = {}
    for label, task in (("default", default), ("fast", fast)):
        first_conv = next(m for m in task.net.modules() if isinstance(m, torch.nn.Conv2d))
        first_conv.register_forward_pre_hook(
            lambda module, args, label=label: first_inputs.setdefault(label, args[0])
        )
        task.train()  # training mode: BatchNorm on the batch's statistics
    torch.testing.assert_close(fast(x), default(x), rtol=1e-4, atol=1e-5)
    assert first_inputs["fast"].is_contiguous(memory_format=torch.channels_last)
    assert first_inputs["default"].is_contiguous()
    # Gradients in eval mode: through training-mode BatchNorm a random-init ResNet's
    # gradients are ill-conditioned (a ReLU whose input rounds to the other side of zero
    # moves them by up to 1 % of a tensor's largest entry, float32 against float64 alike).
    for task in (default, fast):
        task.eval()
        task.compute_loss(task(x), target).backward()
    pairs = zip(default.net.named_parameters(), fast.net.parameters(), strict=True)
    for (key, slow), fast_param in pairs:
        gap = (fast_param.grad - slow.grad).abs().max()
        assert gap <= 1e-4 * slow.grad.abs().max() + 1e-7, key


def test_a_channels_last_state_dict_loads_into_the_default_layout():
    default, fast = task_pair("resnet18_batchnorm")
    with torch.no_grad():
        for param in fast.net.parameters():
            param.add_(0.01)
    default.load_state_dict(fast.state_dict())
    x = torch.randn(4, *default.net.input_shape)
    default.eval()
    fast.eval()
    torch.testing.assert_close(default(x), fast(x), rtol=1e-4, atol=1e-5)


def test_nets_without_convolutions_are_left_as_they_are():
    task = ClassificationTask(
        num_classes=3, net=MLP(4, 3, hidden_sizes=[8]), optimizer=SGD, channels_last=True
    )
    task.configure_model()
    x = torch.randn(5, 4)
    assert task(x).shape == (5, 3)
    assert all(p.is_contiguous() for p in task.net.parameters())


def test_channels_last_must_be_a_flag():
    with pytest.raises(ConfigError, match="model.channels_last must be true or false"):
        ClassificationTask(
            num_classes=3, net=MLP(4, 3, hidden_sizes=[8]), optimizer=SGD, channels_last="yes"
        )


def test_a_lenet_run_trains_the_same_in_either_layout(compose_config, fake_data_dir):
    records = {}
    for layout in ("false", "true"):
        cfg = compose_config(
            [
                "experiment=nndl/lenet_mnist_subset",
                f"paths.data_dir={fake_data_dir}",
                "data.val_size=100",
                "data.train_subset=200",
                "data.val_subset=40",
                "data.test_subset=40",
                "data.batch_size=50",
                f"model.channels_last={layout}",
                "trainer=cpu",
                "trainer.max_epochs=2",
                "callbacks=none",
                "logger=csv",
            ]
        )
        records[layout] = train(cfg)
    assert records["true"]["global_step"] == records["false"]["global_step"] == 8
    assert records["true"]["test/loss"] == pytest.approx(records["false"]["test/loss"], rel=1e-3)
    assert records["true"]["test/acc"] == pytest.approx(records["false"]["test/acc"], abs=0.01)
