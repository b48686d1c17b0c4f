"""Prediction grids: misclassified first, one red caption per error, an image in TensorBoard."""

import pytest
import torch
from matplotlib.colors import to_rgb

from dlbasics.callbacks.prediction_images import misclassified_first, prediction_grid
from tests.tensorboard_runs import load_events, quick_run

pytestmark = pytest.mark.filterwarnings("ignore")


def test_wrong_predictions_come_first_in_data_order():
    predicted = torch.tensor([0, 1, 2, 3, 4])
    target = torch.tensor([0, 9, 2, 9, 4])
    assert misclassified_first(predicted, target, 4).tolist() == [1, 3, 0, 2]


def test_grid_captions_name_predicted_and_true_class():
    images = torch.rand(5, 1, 28, 28)
    figure = prediction_grid(images, [1, 2, 0, 0, 1], [1, 0, 0, 2, 1], ["cat", "dog", "owl"], 4)
    texts = figure.axes[0].texts
    assert [t.get_text() for t in texts[:2]] == ["dog\n(dog)", "owl\n(cat)"]
    assert sum(to_rgb(t.get_color()) == (1.0, 0.0, 0.0) for t in texts) == 2
    assert figure.axes[0].images[0].get_array().shape == (2 * (28 + 18), 4 * (28 + 4), 3)


def test_grid_logged_every_epoch_for_images(compose_config, tmp_path, fake_data_dir):
    quick_run(
        compose_config,
        tmp_path,
        fake_data_dir,
        "model=mlp",
        "data=fashion_mnist",
        "callbacks=[prediction_images]",
        "callbacks.prediction_images.num_images=12",
        "trainer.max_epochs=2",
        "test=false",
    )
    images = load_events(tmp_path).Images("predictions/val")
    assert [event.step for event in images] == [2, 4]
    assert images[0].width > 200 and images[0].height > 50
    assert (tmp_path / "figures" / "predictions_val.png").stat().st_size > 1000


def test_no_grid_for_tabular_data(compose_config, tmp_path):
    quick_run(compose_config, tmp_path, None, "callbacks=[prediction_images]", "test=false")
    assert "predictions/val" not in load_events(tmp_path).Tags()["images"]
    assert not (tmp_path / "figures").exists()
