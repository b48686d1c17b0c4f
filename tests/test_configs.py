"""Every experiment composes; every model runs one fast_dev_run batch."""

from pathlib import Path

import pytest
from hydra.utils import instantiate

from dlbasics.train import train
from dlbasics.utils.cli import CONFIG_DIR

CONF = Path(CONFIG_DIR)
EXPERIMENTS = sorted(
    str(p.relative_to(CONF / "experiment").with_suffix(""))
    for p in CONF.glob("experiment/**/*.yaml")
)
MODELS = sorted(p.stem for p in CONF.glob("model/*.yaml"))

# The data set each model is smoke-tested on; a new model config must be added here.
MODEL_DATA = {
    "linear_regression": ["data=linear"],
    "polynomial_regression": ["data=polynomial"],
    "mlp_regression": ["data=trapezoid"],
    "logistic_regression": ["data=moons"],
    "binary_mlp": ["data=moons"],
    "softmax": ["data=mnist", "data.val_size=100"],
    "mlp": ["data=fashion_mnist", "data.val_size=100"],
    "multilabel_mlp": ["data=multilabel_synthetic"],
    "scratch_linear": ["data=linear"],
    "scratch_mlp_regression": ["data=trapezoid"],
    "scratch_binary_mlp": ["data=moons"],
    "scratch_softmax": ["data=mnist", "data.val_size=100"],
    "scratch_mlp": ["data=fashion_mnist", "data.val_size=100"],
    "lenet": ["data=mnist", "data.val_size=100"],
    "resnet18": ["data=cifar10"],
    "cnn": ["data=fashion_mnist", "data.val_size=100"],
    "rnn": ["data=digit_sum"],
    "transformer": [
        "data=kv_retrieval",
        "data.num_train=64",
        "data.num_val=16",
        "data.num_test=16",
    ],
}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_instantiates_its_data(experiment, compose_config, fake_data_dir):
    cfg = compose_config([f"experiment={experiment}", f"paths.data_dir={fake_data_dir}"])
    assert cfg.model._target_.startswith("dlbasics.tasks.")
    assert cfg.data._target_.startswith("dlbasics.data.")
    datamodule = instantiate(cfg.data)
    assert datamodule.info()["num_features"] > 0


def test_every_model_has_a_smoke_test_data_set():
    assert set(MODELS) == set(MODEL_DATA), "add new model configs to MODEL_DATA"


@pytest.mark.parametrize("model", MODELS)
def test_fast_dev_run_every_model(model, compose_config, fake_data_dir):
    cfg = compose_config(
        [
            f"model={model}",
            *MODEL_DATA[model],
            "debug=fast_dev_run",
            f"paths.data_dir={fake_data_dir}",
        ]
    )
    record = train(cfg)
    assert record["global_step"] == 1
    assert any(key.startswith("test/") for key in record)
