"""The recurrent experiments and the sequence data sets through the Trainer, one batch each."""

import math

import pytest
from omegaconf import OmegaConf, open_dict

from dlbasics.eval import evaluate
from dlbasics.train import train
from dlbasics.utils.instantiate import run_config_for
from tests.tensorboard_runs import load_events, quick_run

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=nndl/srn_digit_sum"],
        ["experiment=nndl/lstm_digit_sum", "model.net.impl=cells"],
        ["model=rnn", "data=digit_sum", "model.net.encoder=gru", "model.net.summary=mean"],
        [
            "model=rnn",
            "data=negation_reviews",
            "model.net.bidirectional=true",
            "model.net.summary=mean",
            "model.net.padding_idx=0",
        ],
        ["model=rnn", "data=text_folder", "model.net.impl=cells", "model.net.padding_idx=0"],
    ],
    ids=["srn_digit_sum", "lstm_cells", "gru_mean", "bilstm_negation", "text_folder_cells"],
)
def test_sequence_models_run_one_batch(overrides, compose_config, fake_data_dir) -> None:
    cfg = compose_config([*overrides, "debug=fast_dev_run", f"paths.data_dir={fake_data_dir}"])
    record = train(cfg)
    assert record["global_step"] == 1
    assert math.isfinite(record["test/loss"])


def test_inspection_callbacks_on_a_sequence_model(compose_config, tmp_path) -> None:
    quick_run(
        compose_config,
        tmp_path,
        None,
        "model=rnn",
        "data=digit_sum",
        "callbacks=inspect",
        "callbacks.grad_norms.every_n_steps=1",
        "test=false",
    )
    tags = load_events(tmp_path).Tags()
    assert "grad_norm/net.encoder.recurrence.rnn.weight_hh_l0" in tags["scalars"]
    assert not tags["images"]  # no images to draw: both picture callbacks step aside


def test_eval_reads_the_vocabulary_the_run_saved(compose_config, tmp_path, fake_data_dir):
    cfg = compose_config(
        [
            "model=rnn",
            "data=text_folder",
            f"paths.data_dir={fake_data_dir}",
            "data.min_freq=1",
            "model.net.padding_idx=0",
            "trainer=cpu",
            "trainer.max_epochs=1",
            "callbacks=model_checkpoint",
            "logger=csv",
        ]
    )
    (tmp_path / ".hydra").mkdir()
    OmegaConf.save(cfg, tmp_path / ".hydra" / "config.yaml")  # what Hydra saves in a run dir
    record = train(cfg)
    assert (tmp_path / "vocab.json").is_file()
    # new training texts: a vocabulary rebuilt from the files would now give other ids
    for i in range(5):
        new_review = fake_data_dir / "aclImdb" / "train" / "pos" / f"new_{i}.txt"
        new_review.write_text("zebra zebra zebra quokka quokka")
    eval_cfg = compose_config([f"ckpt_path={record['best_ckpt']}"], name="eval")
    with open_dict(eval_cfg):
        eval_cfg.paths.output_dir = str(tmp_path / "eval")
    assert run_config_for(eval_cfg).data.vocab_path == str(tmp_path / "vocab.json")
    result = evaluate(eval_cfg)
    assert result["test/loss"] == pytest.approx(record["test/loss"], abs=1e-6)
    assert result["test/acc"] == pytest.approx(record["test/acc"], abs=1e-6)
