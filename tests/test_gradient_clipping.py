"""Per-tensor gradient clipping (NNDL's ClipGradByNorm) against the global clip, the summed
cross-entropy, and the exploding-gradient experiments on a few steps."""

import math

import pytest
import torch
from torch import nn

from dlbasics.callbacks.clip_per_tensor import ClipGradPerTensor
from dlbasics.errors import ConfigError
from dlbasics.nets import SoftmaxRegression
from dlbasics.tasks import ClassificationTask
from dlbasics.train import train
from tests.tensorboard_runs import load_events, scalars

pytestmark = pytest.mark.filterwarnings("ignore")


class Holder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.big = nn.Parameter(torch.zeros(2))
        self.small = nn.Parameter(torch.zeros(2))


def test_each_tensor_is_clipped_on_its_own():
    module = Holder()
    module.big.grad = torch.tensor([30.0, 40.0])  # norm 50
    module.small.grad = torch.tensor([0.3, 0.4])  # norm 0.5
    ClipGradPerTensor(max_norm=5.0).on_before_optimizer_step(None, module, None)
    assert module.big.grad.tolist() == pytest.approx([3.0, 4.0])  # down to norm 5
    assert module.small.grad.tolist() == pytest.approx([0.3, 0.4])  # a global clip would shrink it
    with pytest.raises(
        ConfigError, match="callbacks.clip_per_tensor.max_norm must be a number > 0"
    ):
        ClipGradPerTensor(max_norm=0)


def test_summed_cross_entropy_is_the_batch_size_times_the_mean():
    torch.manual_seed(0)
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    tasks = {
        reduction: ClassificationTask(
            num_classes=3,
            net=SoftmaxRegression(4, 3),
            optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
            loss_reduction=reduction,
        )
        for reduction in ("mean", "sum")
    }
    tasks["sum"].net.load_state_dict(tasks["mean"].net.state_dict())
    mean, total = (tasks[r].compute_loss(tasks[r](x), y) for r in ("mean", "sum"))
    assert float(total) == pytest.approx(8 * float(mean), rel=1e-6)
    with pytest.raises(ConfigError, match="model.loss_reduction='max' is unknown"):
        ClassificationTask(3, net=SoftmaxRegression(4, 3), optimizer=None, loss_reduction="max")


@pytest.mark.parametrize(
    "experiment", ["nndl/srn_explode", "nndl/srn_clip", "nndl/srn_clip_per_tensor"]
)
def test_gradient_norms_are_logged_every_step(experiment, compose_config, tmp_path):
    cfg = compose_config([f"experiment={experiment}", "trainer=cpu", "trainer.max_epochs=1"])
    train(cfg)
    norms = scalars(load_events(tmp_path), "grad_norm/net.encoder.recurrence.rnn.weight_hh_l0")
    assert sorted(norms) == list(range(5))  # 300 sequences / 64 = 5 steps an epoch
    assert all(math.isfinite(v) for v in norms.values())
    assert (tmp_path / "csv" / "metrics.csv").read_text().count("grad_norm/") > 0
