"""The recurrent experiments and the sequence data sets through the Trainer; predictions on
the lines of a text file; bad input through the command line."""

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf, open_dict
from torch import nn

from dlbasics.data import TextFolderDataModule
from dlbasics.data.text import regex_tokens
from dlbasics.eval import evaluate
from dlbasics.predict import main as predict_main
from dlbasics.tasks import ClassificationTask
from dlbasics.train import main as train_main
from dlbasics.train import train
from dlbasics.utils.instantiate import build_datamodule, build_model, run_config_for
from tests.conftest import file_contents, make_fake_imdb, run_dirs, run_main
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


def test_the_books_imdb_bilstm_trains_and_tests(compose_config, tmp_path) -> None:
    """nndl/bilstm_imdb as configured, end to end on a small folder in the IMDB layout."""
    data_dir = tmp_path / "data"
    make_fake_imdb(data_dir, 12)
    cfg = compose_config(["experiment=nndl/bilstm_imdb", f"paths.data_dir={data_dir}"])
    assert cfg.data.path == str(data_dir / "aclImdb")
    assert (cfg.data.max_seq_len, cfg.data.batch_size, cfg.trainer.max_epochs) == (256, 128, 3)
    build_datamodule(cfg)
    task = build_model(cfg)
    net = task.net
    assert (net.embedding.embedding_dim, net.embedding.padding_idx) == (256, 0)
    lstm = net.encoder.recurrence.rnn
    assert isinstance(lstm, nn.LSTM) and lstm.bidirectional
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (256, 256, 1)
    assert net.summary == "mean"
    assert (net.head.in_features, net.head.out_features) == (512, 2)
    optimizer = task.configure_optimizers()
    assert type(optimizer) is torch.optim.Adam and optimizer.param_groups[0]["lr"] == 1e-3
    record = train(cfg)
    assert (record["epochs"], record["global_step"]) == (3, 3)  # 24 reviews: one batch an epoch
    assert 0.0 <= record["test/acc"] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["test/acc"] == record["test/acc"]


SHORT_RUN = [
    "model=rnn",
    "trainer=cpu",
    "trainer.max_epochs=1",
    "callbacks=model_checkpoint",
    "logger=csv",
    "extras.print_config=false",
]
TEXT_RUN = ["data=text_folder", "data.min_freq=1", "data.max_seq_len=6", "model.net.padding_idx=0"]


def cli_run(root: Path, *overrides: str) -> Path:
    """One training run through the command-line entry point (in this process): its run dir."""
    with pytest.MonkeyPatch.context() as patch:
        code, _ = run_main(train_main, f"paths.log_dir={root}", *overrides, monkeypatch=patch)
    assert code == 0
    (run_dir,) = run_dirs(root)
    return run_dir


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> Path:
    """A finished text run whose training folder is gone afterwards: predicting the lines of
    a file needs the run dir (checkpoint and vocab.json) only."""
    root = tmp_path_factory.mktemp("text_run")
    make_fake_imdb(root / "data", 10)
    run_dir = cli_run(root / "logs", *SHORT_RUN, *TEXT_RUN, f"paths.data_dir={root / 'data'}")
    shutil.rmtree(root / "data")
    return run_dir


@pytest.fixture(scope="module")
def digit_run(tmp_path_factory) -> Path:
    """A finished run on digit_sum: token sequences, but no text and no vocabulary."""
    root = tmp_path_factory.mktemp("digit_run")
    return cli_run(root, *SHORT_RUN, "data=digit_sum", "trainer.limit_train_batches=2")


def read_rows(log_dir: Path) -> list[dict[str, str]]:
    (predict_dir,) = run_dirs(log_dir, "predict")
    with (predict_dir / "predictions.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("key", ["text_file", "+text_file"])
def test_predict_writes_one_row_per_line_of_a_text_file(
    text_run, tmp_path, capsys, monkeypatch, key
) -> None:
    reviews = tmp_path / "reviews.txt"
    texts = ["good great fun , the movie was good", "bad zebra quokka awful", '"quoted, comma"']
    reviews.write_text(f"{texts[0]}\n\n  \r\n{texts[1]}\r\n{texts[2]}\n", encoding="utf-8")
    before = file_contents(text_run)
    ckpt = text_run / "checkpoints" / "last.ckpt"
    code, stderr = run_main(
        predict_main,
        f"paths.log_dir={tmp_path / 'logs'}",
        f"ckpt_path={ckpt}",
        f"{key}={reviews}",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 0, stderr
    rows = read_rows(tmp_path / "logs")
    assert list(rows[0]) == ["line", "text", "predicted", "predicted_name", "probability"]
    assert [(r["line"], r["text"]) for r in rows] == list(zip(["1", "4", "5"], texts, strict=True))
    # the run's own ids: its vocab.json, unknown words [UNK], cut at its max_seq_len (6)
    data = TextFolderDataModule(path="gone", vocab_path=str(text_run / "vocab.json"), max_seq_len=6)
    lines = data.encode_lines(reviews)
    x, _ = lines.dataset.__getitems__([0, 1, 2])
    vocabulary = data.vocabulary
    for ids, length, text in zip(x.ids.tolist(), x.lengths.tolist(), texts, strict=True):
        known = [t if t in vocabulary.tokens[2:] else "[UNK]" for t in regex_tokens(text)]
        assert [vocabulary.tokens[i] for i in ids[:length]] == known[:6]
    assert vocabulary.encode(["zebra", "quokka"]) == [1, 1]
    task = ClassificationTask.load_from_checkpoint(ckpt, map_location="cpu").eval()
    with torch.no_grad():
        probability, predicted = task(x).softmax(dim=-1).max(dim=1)
    assert [int(r["predicted"]) for r in rows] == predicted.tolist()
    assert [r["predicted_name"] for r in rows] == [["neg", "pos"][i] for i in predicted.tolist()]
    for row, expected in zip(rows, probability.tolist(), strict=True):
        assert float(row["probability"]) == pytest.approx(expected, abs=1e-6)
    assert file_contents(text_run) == before


@pytest.mark.parametrize(
    ("run", "content", "message"),
    [
        ("text", None, "text_file={file} does not exist; pass text_file=<a UTF-8 text file"),
        ("text", b"\n \n", "text_file={file} holds no text, every line is empty; pass text_file="),
        ("text", b"caf\xe9\n", "text_file: {file} is not UTF-8 text (byte 3 is 0xe9); convert it"),
        (
            "digit",
            b"good\n",
            "text_file={file}: the checkpoint's run was trained on DigitSumDataModule, which is "
            "no text set",
        ),
    ],
    ids=["missing", "empty", "latin1", "not_a_text_run"],
)
def test_a_bad_text_file_is_one_clear_message(
    request, tmp_path, capsys, monkeypatch, run, content, message
) -> None:
    run_dir = request.getfixturevalue(f"{run}_run")
    file = tmp_path / "reviews.txt"
    if content is not None:
        file.write_bytes(content)
    before = file_contents(run_dir)
    code, stderr = run_main(
        predict_main,
        f"paths.log_dir={tmp_path / 'logs'}",
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
        f"text_file={file}",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert message.format(file=file) in stderr and "Traceback" not in stderr
    assert not list((tmp_path / "logs").rglob("predictions.csv"))
    assert file_contents(run_dir) == before


def remove_pos(folder: Path) -> None:
    for half in ("train", "test"):
        shutil.rmtree(folder / half / "pos")


def empty_review(folder: Path) -> None:
    (folder / "train" / "neg" / "0_2.txt").write_text("\n")


BAD_RECURRENT_INPUT = {
    "seq_len_2": (
        ["data=digit_sum", "data.seq_len=2"],
        "data.seq_len must be an integer >= 3 (two summed digits and at least one position for "
        "the distractor), got 2; set data.seq_len=3 or more",
    ),
    "no_copies": (
        ["data=digit_sum", "data.train_copies=0"],
        "data.train_copies must be a positive integer (copies of every base sequence in the "
        "split), got 0; set data.train_copies=1 or more",
    ),
    "hidden_size_0": (
        ["data=digit_sum", "model.net.hidden_size=0"],
        "model.net.hidden_size must be a positive integer, got 0",
    ),
    "bidirectional_last_output": (
        ["data=digit_sum", "model.net.bidirectional=true", "model.net.summary=last_output"],
        "would mix the forward state after the whole sequence with a backward state after one "
        "token. Use model.net.summary=last (each direction's final state) or mean.",
    ),
    "id_outside_the_vocabulary": (
        ["data=digit_sum", "model.net.vocab_size=5"],
        "token id 9 is outside the embedding's ids 0..4 (model.net.vocab_size=5): the ids come "
        "from another vocabulary than the net was built for. Leave model.net.vocab_size at "
        "${data_info.vocab_size}",
    ),
    "no_pos_folder": (
        ["data=text_folder", remove_pos],
        "has no train/pos, test/pos folder. Set data.path (or paths.data_dir, which holds "
        "aclImdb) to the unpacked IMDB archive",
    ),
    "empty_review": (
        ["data=text_folder", empty_review],
        "train/neg/0_2.txt is empty; remove it or put the review's text in it",
    ),
    "empty_vocabulary": (
        ["data=text_folder", "data.min_freq=1000"],
        "data.min_freq=1000 leaves the vocabulary without a word: no training token occurs "
        "more than",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RECURRENT_INPUT))
def test_bad_recurrent_input_is_one_clear_message(
    case, text_run, tmp_path, capsys, monkeypatch
) -> None:
    """Through dlbasics-train, into the log dir of an earlier run that stays as it was."""
    overrides, expected = BAD_RECURRENT_INPUT[case]
    folder = make_fake_imdb(tmp_path / "data", 4)
    for change in (item for item in overrides if callable(item)):  # a flaw in the folder
        change(folder)
    log_dir = text_run.parents[2]
    before = file_contents(text_run)
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={log_dir}",
        f"paths.data_dir={tmp_path / 'data'}",
        *SHORT_RUN,
        *(item for item in overrides if isinstance(item, str)),
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert expected in stderr and "Traceback" not in stderr
    assert file_contents(text_run) == before
    finished = [path.parent for path in log_dir.rglob("metrics.json")]
    assert finished == [text_run] and {c.parents[1] for c in log_dir.rglob("*.ckpt")} == {text_run}
