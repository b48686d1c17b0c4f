"""utils/figures: the PNG in the run dir and the TensorBoard image are the same picture."""

import io
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from pytorch_lightning.loggers import TensorBoardLogger

from dlbasics.utils.figures import log_figure, log_image
from tests.tensorboard_runs import load_events


def fake_trainer(run_dir) -> SimpleNamespace:
    logger = TensorBoardLogger(str(run_dir), name="tensorboard", version="")
    return SimpleNamespace(
        default_root_dir=str(run_dir), is_global_zero=True, global_step=7, loggers=[logger]
    )


def logged_png(run_dir, tag: str):
    (event,) = load_events(run_dir).Images(tag)
    return event


def test_pixels_reach_file_and_tensorboard_unchanged(tmp_path):
    trainer = fake_trainer(tmp_path)
    pixels = np.random.default_rng(0).integers(0, 256, size=(30, 50, 3), dtype=np.uint8)
    path = log_image(trainer, "predictions/val", pixels)
    trainer.loggers[0].experiment.flush()

    assert path == tmp_path / "figures" / "predictions_val.png"
    assert np.array_equal(np.asarray(PIL.Image.open(path)), pixels)
    event = logged_png(tmp_path, "predictions/val")
    assert (event.step, event.width, event.height) == (7, 50, 30)
    assert event.encoded_image_string == path.read_bytes()


def test_figure_png_is_what_tensorboard_shows(tmp_path):
    trainer = fake_trainer(tmp_path)
    figure, axes = plt.subplots(figsize=(2, 1))
    axes.plot([0, 1], [1, 0])
    path = log_figure(trainer, "fit/curve", figure, step=3)
    trainer.loggers[0].experiment.flush()

    event = logged_png(tmp_path, "fit/curve")
    picture = PIL.Image.open(io.BytesIO(event.encoded_image_string))
    assert event.step == 3
    assert (event.width, event.height) == picture.size == PIL.Image.open(path).size
    assert event.encoded_image_string == path.read_bytes()
    assert not plt.fignum_exists(figure.number)
