"""Weight and gradient histograms: tags per parameter, values equal to the saved weights."""

import numpy as np
import pytest
import torch

from dlbasics.callbacks.histograms import histogram
from tests.tensorboard_runs import load_events, quick_run

pytestmark = pytest.mark.filterwarnings("ignore")

PARAMS = [f"net.layers.{i}.{kind}" for i in (0, 2) for kind in ("weight", "bias")]


def test_histogram_counts_equal_numpys():
    values = torch.randn(300, 7, generator=torch.Generator().manual_seed(0))
    summary = histogram(values, 16)
    counts, edges = np.histogram(values.double().numpy(), bins=16)
    assert summary["bucket_counts"] == counts.tolist()
    assert summary["bucket_limits"] == pytest.approx(edges[1:].tolist())
    assert summary["num"] == 2100
    assert summary["sum_squares"] == pytest.approx(float(values.double().pow(2).sum()))
    constant = histogram(torch.full((5,), 2.0), 16)
    assert (constant["bucket_limits"], constant["bucket_counts"]) == ([2.0], [5.0])


def test_histograms_match_the_final_weights(compose_config, tmp_path, fake_data_dir):
    quick_run(
        compose_config,
        tmp_path,
        fake_data_dir,
        "model=mlp",
        "data=fashion_mnist",
        "model.net.hidden_sizes=[16]",
        "callbacks=[model_checkpoint,histograms]",
        "trainer.max_epochs=2",
        "test=false",
    )
    events = load_events(tmp_path)
    tags = set(events.Tags()["histograms"])
    assert tags == {f"{kind}/{name}" for kind in ("weights", "grads") for name in PARAMS}
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    for name in PARAMS:
        history = events.Histograms(f"weights/{name}")
        assert [event.step for event in history] == [2, 4]  # end of each epoch (2 steps each)
        final = history[-1].histogram_value
        weights = state[name].double()
        assert final.num == weights.numel()
        assert final.min == pytest.approx(float(weights.min()))
        assert final.max == pytest.approx(float(weights.max()))
        assert final.sum == pytest.approx(float(weights.sum()), abs=1e-5)
        assert [event.step for event in events.Histograms(f"grads/{name}")] == [0, 2]


def test_big_nets_are_skipped(compose_config, tmp_path, fake_data_dir):
    quick_run(
        compose_config,
        tmp_path,
        fake_data_dir,
        "model=mlp",
        "data=mnist",
        "callbacks=[histograms]",
        "callbacks.histograms.max_params=100",
        "test=false",
    )
    assert load_events(tmp_path).Tags()["histograms"] == []
