"""Model summary: exact parameter counts per layer in the run dir, the graph in TensorBoard."""

import pytest
from torch import nn

from dlbasics.callbacks.model_summary import FILENAME, parameter_table
from tests.tensorboard_runs import load_events, quick_run

pytestmark = pytest.mark.filterwarnings("ignore")


def test_table_counts_each_layer_and_frozen_parameters():
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    net[0].bias.requires_grad_(False)
    rows = [line.split() for line in parameter_table(net).splitlines()]
    assert ["0", "Linear", "15", "12"] in rows  # 4*3 weights + 3 frozen biases
    assert ["2", "Linear", "8", "8"] in rows
    assert ["total", "23", "20"] in rows
    assert not any(row[:1] == ["1"] for row in rows)  # ReLU owns no parameters


def test_summary_file_and_graph(compose_config, tmp_path, fake_data_dir):
    quick_run(
        compose_config,
        tmp_path,
        fake_data_dir,
        "model=mlp",
        "data=mnist",
        "callbacks=[model_summary]",
        "logger.tensorboard.log_graph=true",
        "test=false",
    )
    rows = [line.split() for line in (tmp_path / FILENAME).read_text().splitlines()]
    assert ["net.layers.0", "Linear", "200,960", "200,960"] in rows  # 784*256 + 256
    assert ["net.layers.2", "Linear", "2,570", "2,570"] in rows  # 256*10 + 10
    assert ["total", "203,530", "203,530"] in rows
    graph = load_events(tmp_path).Graph()
    assert any("Linear" in node.name or "linear" in node.op for node in graph.node)
