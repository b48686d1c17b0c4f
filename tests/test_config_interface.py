"""The config is the whole interface: every argument a user may change is a key of its YAML
file, every key says what it does, and the optimizer and scheduler groups build what they
name."""

import inspect
import re
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from torch import nn

from dlbasics.errors import ConfigError
from dlbasics.scratch import optim as scratch_optim
from dlbasics.tasks import ClassificationTask
from dlbasics.utils.cli import CONFIG_DIR
from dlbasics.utils.config_tree import config_tree
from dlbasics.utils.instantiate import build_datamodule, build_model

CONF = Path(CONFIG_DIR)

# Arguments that code passes, not the YAML file: the task gets the optimizer and scheduler
# groups from build_model, an optimizer factory gets the parameters from the task.
PASSED_BY_CODE = {"optimizer", "scheduler", "params"}
# Parent arguments a subclass fills itself (Iris is a fixed table; blobs' noise is its
# cluster_std), so they are no keys of its file.
FILLED_BY_SUBCLASS = {
    "IrisDataModule": {"path", "target", "task", "features"},
    "BlobsDataModule": {"noise"},
}


def user_arguments(target: str) -> set[str]:
    """Named arguments of ``target``, following ``**kwargs`` up the classes it inherits."""
    obj = get_object(target)
    classes = obj.__mro__ if inspect.isclass(obj) else (obj,)
    names: set[str] = set()
    for cls in classes:
        function = cls.__init__ if inspect.isclass(obj) else cls
        if inspect.isclass(obj) and "__init__" not in vars(cls):
            continue
        parameters = list(inspect.signature(function).parameters.values())
        names |= {
            p.name
            for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        }
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    skipped = FILLED_BY_SUBCLASS.get(getattr(obj, "__name__", ""), set())
    return names - PASSED_BY_CODE - skipped


def dlbasics_nodes(node, path: str = ""):
    """``(key path, node)`` of every node whose ``_target_`` is ours."""
    if isinstance(node, DictConfig):
        target = node.get("_target_")
        if isinstance(target, str) and target.startswith("dlbasics."):
            yield path, node
        for key in node:
            yield from dlbasics_nodes(node._get_node(key), f"{path}.{key}".strip("."))


@pytest.fixture
def group_config():
    """Compose one option of a group on its own (``data/mnist``): a tenth of the cost of
    composing the whole train.yaml, which these tests would do dozens of times."""

    def compose_option(name: str) -> DictConfig:
        if not GlobalHydra.instance().is_initialized():  # other tests' fixtures clear it
            initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3")
        return compose(config_name=name)[name.split("/")[0]]

    return compose_option


OPTIONS = [
    f"{group}/{path.stem}"
    for group in ("data", "model", "callbacks", "optimizer")
    for path in sorted((CONF / group).glob("*.yaml"))
]
GROUPS_OF_OTHERS = {"callbacks/default", "callbacks/inspect", "callbacks/none"}


@pytest.mark.parametrize("option", OPTIONS)
def test_every_constructor_argument_is_a_key(group_config, option) -> None:
    node = group_config(option)
    nodes = list(dlbasics_nodes(node, option))
    for path, found in nodes:
        missing = user_arguments(found._target_) - set(found)
        assert not missing, f"{path} ({found._target_}) has no key for {sorted(missing)}"
    if option.startswith("data/"):  # one shared loader default, no fallback in code
        assert set(LOADER) <= set(node), option
    elif option.startswith(("model/", "callbacks/")) and option not in GROUPS_OF_OTHERS:
        third_party = (
            all(not str(v.get("_target_", "")).startswith("dlbasics.") for v in node.values())
            if option.startswith("callbacks/")
            else False
        )
        assert nodes or third_party, f"{option} builds nothing"


LOADER = OmegaConf.load(CONF / "loader" / "default.yaml")


def test_the_loader_default_is_explicit(compose_config) -> None:
    assert set(LOADER) == {
        "batch_size",
        "eval_batch_size",
        "num_workers",
        "pin_memory",
        "train_repeats",
        "shuffle_seed",
        "on_device",
    }
    linear = compose_config(["data=linear", "data.batch_size=512"])
    assert linear.data.eval_batch_size == 256  # no max(batch_size, 256) behind the user's back


def test_the_optuna_pruning_callback_has_every_key(compose_config) -> None:
    node = compose_config(["hparams_search=optuna"]).callbacks.optuna_pruning
    assert not user_arguments(node._target_) - set(node)


DOCUMENTED_FOLDERS = [
    "data",
    "net",
    "task",
    "model",
    "optimizer",
    "scheduler",
    "loader",
    "callbacks",
    "trainer",
    "logger",
    "paths",
    "debug",
    "hydra/launcher",
    "hydra",
]
KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][\w@]*):")


def undocumented_keys(path: Path) -> list[str]:
    """Keys with no comment on their line nor on the line above (list items and the
    ``_target_``/``_partial_``/``defaults`` lines excepted: they are Hydra's, not knobs)."""
    lines = path.read_text().splitlines()
    bare = []
    for index, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match or match.group(2) in ("_target_", "_partial_", "defaults"):
            continue
        above = lines[index - 1].strip() if index else ""
        value = line.split(":", 1)[1].strip()
        if "#" not in line and not above.startswith("#") and value != "":
            bare.append(f"{path.relative_to(CONF)}:{index + 1}: {line.strip()}")
    return bare


@pytest.mark.parametrize("folder", DOCUMENTED_FOLDERS)
def test_every_key_says_what_it_does(folder: str) -> None:
    bare = [
        line for path in sorted((CONF / folder).glob("*.yaml")) for line in undocumented_keys(path)
    ]
    assert bare == []


def test_the_top_level_files_document_their_keys() -> None:
    bare = [
        line
        for name in ("train", "eval", "predict")
        for line in undocumented_keys(CONF / f"{name}.yaml")
    ]
    assert bare == []


OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.0}),
    "momentum": (torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    "adagrad": (torch.optim.Adagrad, {"lr": 0.01}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 0.001, "alpha": 0.99}),
    "adam": (torch.optim.Adam, {"lr": 0.001, "betas": [0.9, 0.999]}),
    "adamw": (torch.optim.AdamW, {"lr": 0.001, "weight_decay": 0.01}),
    "lbfgs": (torch.optim.LBFGS, {"lr": 1.0, "max_iter": 20}),
    "sgd_weights_only_decay": (torch.optim.SGD, {"lr": 0.1}),
    "scratch_sgd": (scratch_optim.SGD, {"lr": 0.1, "momentum": 0.0}),
    "scratch_momentum": (scratch_optim.Momentum, {"lr": 0.01, "momentum": 0.9}),
    "scratch_adagrad": (scratch_optim.AdaGrad, {"lr": 0.01}),
    "scratch_rmsprop": (scratch_optim.RMSprop, {"lr": 0.001, "alpha": 0.99}),
    "scratch_adam": (scratch_optim.Adam, {"lr": 0.001, "betas": [0.9, 0.999]}),
}


def test_every_optimizer_option_is_tested() -> None:
    assert {p.stem for p in (CONF / "optimizer").glob("*.yaml")} == set(OPTIMIZERS)


def task_with(optimizer, scheduler=None) -> ClassificationTask:
    return ClassificationTask(
        num_classes=3,
        top_k=(),
        net=nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 3)),
        optimizer=optimizer,
        scheduler=scheduler,
    )


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_group_builds_what_it_names(group_config, name) -> None:
    spec = OmegaConf.merge(group_config(f"optimizer/{name}"), {"lr": 0.5})  # optimizer.lr=0.5
    optimizer = task_with(spec).configure_optimizers()
    cls, settings = OPTIMIZERS[name]
    assert type(optimizer) is cls
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.5
    for key, value in settings.items():
        if key != "lr":
            stored = group[key]
            assert (list(stored) if isinstance(stored, tuple) else stored) == value, key


def test_weights_only_decay_leaves_biases_alone(group_config) -> None:
    spec = OmegaConf.merge(group_config("optimizer/sgd_weights_only_decay"), {"weight_decay": 3})
    groups = task_with(spec).configure_optimizers().param_groups
    assert [(len(g["params"]), g["weight_decay"]) for g in groups] == [(2, 3.0), (2, 0.0)]


@pytest.mark.parametrize(
    ("option", "change", "message"),
    [
        ("optimizer/sgd", {"lr": -1}, r"optimizer.lr=-1.*Invalid learning rate"),
        ("optimizer/adam", {"betas": [0.9, 1.5]}, r"optimizer.betas=\[0.9, 1.5\]"),
        ("optimizer/sgd", {"_target_": "torch.optim.Nope"}, "optimizer: Error locating target"),
        ("scheduler/step", {"interval": "hour"}, "scheduler.interval='hour' is unknown"),
        ("scheduler/step", {"scheduler": {"step_sizee": 3}}, r"scheduler.scheduler.step_sizee=3"),
    ],
)
def test_bad_optimizer_and_scheduler_values_fail_when_the_task_is_built(
    group_config, option, change, message
) -> None:
    spec = OmegaConf.to_container(group_config(option))
    for key, value in change.items():  # as ++key=value on the command line would
        spec[key] = {**spec[key], **value} if isinstance(value, dict) else value
    sgd = {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1}
    arguments = (
        {"optimizer": spec}
        if option.startswith("optimizer")
        else {"optimizer": sgd, "scheduler": spec}
    )
    with pytest.raises(ConfigError, match=message):
        task_with(**arguments)


@pytest.mark.parametrize(
    ("name", "cls", "interval"),
    [
        ("step", torch.optim.lr_scheduler.StepLR, "epoch"),
        ("cosine", torch.optim.lr_scheduler.CosineAnnealingLR, "epoch"),
        ("plateau", torch.optim.lr_scheduler.ReduceLROnPlateau, "epoch"),
    ],
)
def test_scheduler_group(compose_config, name, cls, interval) -> None:
    cfg = compose_config(["model=mlp", "data=blobs", f"scheduler={name}", "trainer.max_epochs=7"])
    build_datamodule(cfg)
    configured = build_model(cfg).configure_optimizers()
    schedule = configured["lr_scheduler"]
    assert type(schedule["scheduler"]) is cls
    assert (schedule["interval"], schedule["monitor"]) == (interval, "val/acc")
    if name == "cosine":
        assert schedule["scheduler"].T_max == 7  # the whole run by default
    if name == "plateau":
        assert schedule["scheduler"].mode == "max"  # follows model.monitor_mode


def test_no_scheduler_by_default(compose_config) -> None:
    cfg = compose_config([])
    build_datamodule(cfg)
    assert isinstance(build_model(cfg).configure_optimizers(), torch.optim.SGD)


def test_the_config_tree_shows_every_group_first(compose_config) -> None:
    cfg = compose_config(["model=mlp", "data=blobs"])
    build_datamodule(cfg)
    text = config_tree(cfg)
    heads = [line.split()[-1] for line in text.splitlines() if re.match(r"^[├└]── \w+$", line)]
    assert heads[:8] == [
        "data",
        "model",
        "optimizer",
        "scheduler",
        "trainer",
        "callbacks",
        "logger",
        "paths",
    ]
    assert "_target_: dlbasics.data.clusters.BlobsDataModule" in text
    assert "num_features: 2" in text  # data_info, filled from the DataModule
