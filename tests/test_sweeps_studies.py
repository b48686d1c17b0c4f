"""The comparison-study configs compose to what their names promise; init schemes."""

import math

import pytest
import torch

from dlbasics.errors import ConfigError
from dlbasics.nets.mlp import MLP


@pytest.mark.parametrize(
    ("variant", "l1", "weight_decay", "dropout"),
    [
        ("none", 0.0, 0.0, 0.0),
        ("l2", 0.0, 0.0005, 0.0),
        ("l1", 1e-5, 0.0, 0.0),
        ("elastic_net", 1e-5, 0.0005, 0.0),
        ("dropout_0.5", 0.0, 0.0, 0.5),
    ],
)
def test_regularization_variants(compose_config, variant, l1, weight_decay, dropout) -> None:
    cfg = compose_config(["experiment=study/regularization", f"+variant=regularization/{variant}"])
    assert cfg.model.l1_penalty == l1
    assert cfg.optimizer.weight_decay == weight_decay
    assert cfg.model.net.dropout == dropout
    assert list(cfg.model.net.hidden_sizes) == [256, 256] and cfg.optimizer.lr == 0.5
    assert cfg.data._target_.endswith("FashionMNISTDataModule")


@pytest.mark.parametrize(
    ("optimizer", "target", "lr"),
    [
        ("sgd", "torch.optim.SGD", 0.1),
        ("adagrad", "torch.optim.Adagrad", 0.01),
        ("rmsprop", "torch.optim.RMSprop", 0.001),
        ("adam", "torch.optim.Adam", 0.001),
    ],
)
def test_optimizer_study_arms(compose_config, optimizer, target, lr) -> None:
    """The study sweeps the optimizer group; each arm keeps its own file's learning rate."""
    cfg = compose_config(["experiment=study/optimizers", f"optimizer={optimizer}"])
    assert (cfg.optimizer._target_, cfg.optimizer.lr) == (target, lr)
    momentum = compose_config(["experiment=study/optimizers", "optimizer=momentum"]).optimizer
    assert (momentum._target_, momentum.lr, momentum.momentum) == ("torch.optim.SGD", 0.01, 0.9)


def test_other_studies_compose(compose_config) -> None:
    cfg = compose_config(["experiment=study/activations", "+variant=activation/leaky_relu"])
    assert cfg.model.net.activation_kwargs.negative_slope == 0.2
    cfg = compose_config(
        ["experiment=study/early_stopping", "+variant=early_stopping/early_stopping"]
    )
    assert cfg.callbacks.early_stopping.monitor == "val/loss" and cfg.trainer.max_epochs == 15
    cfg = compose_config(["experiment=study/regularization_high_dim", "+variant=regularization/l2"])
    assert cfg.optimizer.weight_decay == 3.0 and cfg.data.num_features == 200
    cfg = compose_config(["experiment=study/initialization"])
    assert list(cfg.model.net.hidden_sizes) == [256] * 4
    cfg = compose_config(["experiment=book/mnist_cv_grid"])
    assert cfg.cv.folds == 3 and cfg.trainer.max_epochs == 1


def test_init_schemes() -> None:
    torch.manual_seed(0)
    zeros = MLP(100, 10, [50], init="zeros")
    assert all(float(p.detach().abs().sum()) == 0 for p in zeros.parameters())
    normal = MLP(1000, 10, [500], init="normal", init_std=0.01)
    assert float(normal.layers[0].weight.std()) == pytest.approx(0.01, rel=0.02)
    he = MLP(1000, 10, [500], init="he")
    assert float(he.layers[0].weight.std()) == pytest.approx(math.sqrt(2 / 1000), rel=0.02)
    xavier = MLP(1000, 10, [500], init="xavier")
    assert float(xavier.layers[0].weight.std()) == pytest.approx(math.sqrt(2 / 1500), rel=0.02)
    assert float(he.layers[0].bias.detach().abs().sum()) == 0
    with pytest.raises(ConfigError, match="model.net.init='orthogonal' is unknown; allowed values"):
        MLP(4, 2, [3], init="orthogonal")


@pytest.mark.parametrize(
    ("variant", "clip_value", "per_tensor"),
    [("none", None, False), ("global_norm", 5.0, False), ("per_tensor", None, True)],
)
def test_gradient_clipping_arms(compose_config, variant, clip_value, per_tensor) -> None:
    """The study's arms are the single experiments nndl/srn_explode, srn_clip and
    srn_clip_per_tensor: the same base run, one clipping switch each."""
    cfg = compose_config(["experiment=study/gradient_clipping", f"+variant=clipping/{variant}"])
    assert cfg.trainer.gradient_clip_val == clip_value
    assert ("clip_per_tensor" in cfg.callbacks) == per_tensor
    assert "grad_norms" in cfg.callbacks and cfg.optimizer.lr == 0.2
    assert cfg.data.seq_len == 20 and cfg.model.loss_reduction == "sum"
    single = {"none": "srn_explode", "global_norm": "srn_clip", "per_tensor": "srn_clip_per_tensor"}
    alone = compose_config([f"experiment=nndl/{single[variant]}"])
    assert alone.trainer.gradient_clip_val == clip_value
    assert list(alone.callbacks) == list(cfg.callbacks)
    memory = compose_config(["experiment=study/memory_length"])
    assert memory.sweep_figures.against == "data.seq_len" and memory.trainer.max_epochs == 100
