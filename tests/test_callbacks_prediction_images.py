"""Prediction grids: misclassified first, one red caption per error, an image in TensorBoard."""

import pytest
import torch

from dlbasics.callbacks.prediction_images import (
    GAP_PX,
    LABEL_PX,
    TITLE_PX,
    misclassified_first,
    prediction_grid,
)
from tests.tensorboard_runs import load_events, quick_run

pytestmark = pytest.mark.filterwarnings("ignore")


def test_wrong_predictions_come_first_in_data_order():
    predicted = torch.tensor([0, 1, 2, 3, 4])
    target = torch.tensor([0, 9, 2, 9, 4])
    assert misclassified_first(predicted, target, 4).tolist() == [1, 3, 0, 2]


def test_grid_captions_name_predicted_and_true_class():
    images = torch.rand(5, 1, 28, 28)
    grid = prediction_grid(images, [1, 2, 0, 0, 1], [1, 0, 0, 2, 1], ["cat", "dog", "owl"], 4)
    assert grid.captions[:2] == ["dog\n(dog)", "owl\n(cat)"]
    assert grid.wrong == [False, True, False, True, False]
    for (top, left, _, width), wrong in zip(grid.tile_boxes, grid.wrong, strict=True):
        caption = grid.image[top - LABEL_PX : top, left : left + width].astype(int)
        red = (caption[..., 0] > 200) & (caption[..., 1:] < 60).all(axis=-1)
        black = (caption < 60).all(axis=-1)
        assert (red.sum() > 20, black.sum() > 20) == (wrong, not wrong)
    tile = 28 * 3  # 28 px images are enlarged 3x so that a class name fits above them
    rows, columns = 2, 4
    assert grid.image.shape == (
        TITLE_PX + rows * (LABEL_PX + tile + GAP_PX),
        columns * (tile + GAP_PX),
        3,
    )
    top, left, height, width = grid.tile_boxes[1]
    assert (height, width) == (tile, tile)
    x = images[1, 0]
    expected = ((x - x.min()) / (x.max() - x.min()) * 255 + 0.5).to(torch.uint8)
    shown = torch.from_numpy(grid.image[top : top + tile : 3, left : left + tile : 3, 0].copy())
    assert (shown.int() - expected.int()).abs().max() <= 1


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
