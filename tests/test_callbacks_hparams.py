"""HParams: the flattened config and the final val/test metric tags in the event file."""

import json

import pytest
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from dlbasics.callbacks.hparams import flatten_config
from tests.tensorboard_runs import load_events, quick_run, scalars

pytestmark = pytest.mark.filterwarnings("ignore")


def test_flatten_uses_command_line_keys():
    config = {"model": {"optimizer": {"lr": 0.1}, "sizes": [64, 32]}, "ckpt": None, "test": True}
    assert flatten_config(config) == {
        "model.optimizer.lr": 0.1,
        "model.sizes": "[64, 32]",
        "ckpt": "None",
        "test": True,
    }


def hparams_session(run_dir) -> tuple[dict, list[str], object]:
    events = load_events(run_dir)
    content = events.PluginTagToContent("hparams")
    experiment = HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    metrics = [info.name.tag for info in experiment.metric_infos]
    return dict(start.session_start_info.hparams), metrics, events


def test_every_run_logs_config_and_final_metrics(compose_config, tmp_path, fake_data_dir):
    quick_run(
        compose_config,
        tmp_path,
        fake_data_dir,
        "model=mlp",
        "data=fashion_mnist",
        "optimizer.lr=0.05",
    )
    hparams, metrics, events = hparams_session(tmp_path)
    assert hparams["optimizer.lr"].number_value == 0.05
    assert hparams["data.batch_size"].number_value == 256
    assert hparams["model.net.activation"].string_value == "relu"
    assert hparams["data._target_"].string_value == "dlbasics.data.FashionMNISTDataModule"
    record = json.loads((tmp_path / "metrics.json").read_text())
    logged = sorted(key for key in record if key.startswith(("val/", "test/")))
    assert metrics == logged  # every final val/test number, and only those
    for tag in ("val/acc", "test/acc", "val/loss"):  # the tab reads each tag's last point
        assert list(scalars(events, tag).values())[-1] == pytest.approx(record[tag])


def test_without_test_the_session_is_written_when_fit_ends(compose_config, tmp_path, fake_data_dir):
    quick_run(compose_config, tmp_path, fake_data_dir, "model=mlp", "data=mnist", "test=false")
    _, metrics, _ = hparams_session(tmp_path)
    assert "val/acc" in metrics
    assert not [tag for tag in metrics if tag.startswith("test/")]
