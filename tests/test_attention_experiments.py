"""The attention chapter's experiments and data through the Trainer: the book's IMDB models on
a generated folder, its LCQMC Transformer on generated sentence pairs (and the bad inputs it
names through the command line), the key-value retrieval task, the word-order study's arms
and the attention heatmap callback."""

import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dlbasics.callbacks.attention_maps import TAG, AttentionMaps
from dlbasics.data.kv_retrieval import QUERY, KeyValueRetrievalDataModule, kv_sample
from dlbasics.errors import ConfigError
from dlbasics.nets import AttentionPooling, MultiHeadSelfAttention, TransformerClassifier
from dlbasics.nets.sequence import SequenceClassifier, masked_mean
from dlbasics.train import main as train_main
from dlbasics.train import train
from dlbasics.utils.instantiate import build_datamodule, build_model
from tests.conftest import CHARACTERS, make_fake_imdb, make_fake_lcqmc, run_dirs, run_main
from tests.tensorboard_runs import load_events, quick_run

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize(
    ("experiment", "scoring", "heads", "summary"),
    [
        ("bilstm_additive_imdb", "additive", 0, "attention"),
        ("bilstm_dot_imdb", "dot", 0, "attention"),
        ("bilstm_mhsa_imdb", "additive", 8, "mean"),
    ],
)
def test_the_books_imdb_attention_models_train_and_test(
    compose_config, tmp_path, experiment, scoring, heads, summary
) -> None:
    data_dir = tmp_path / "data"
    make_fake_imdb(data_dir, 8)
    cfg = compose_config([f"experiment=nndl/{experiment}", f"paths.data_dir={data_dir}"])
    assert (cfg.data.max_seq_len, cfg.data.batch_size, cfg.trainer.max_epochs) == (256, 128, 2)
    build_datamodule(cfg)
    net = build_model(cfg).net
    assert net.embedding.embedding_dim == 128 and net.encoder.output_size == 256
    assert (net.head.in_features, net.head.out_features) == (256, 2) and net.summary == summary
    if summary == "attention":
        assert isinstance(net.pooling, AttentionPooling) and net.pooling.scoring == scoring
    if heads:
        assert isinstance(net.self_attention, MultiHeadSelfAttention)
        assert (net.self_attention.heads, net.self_attention.head_size) == (8, 32)
    record = train(cfg)
    assert record["epochs"] == 2 and 0.0 <= record["test/acc"] <= 1.0


def test_the_books_lcqmc_transformer_trains_and_tests(compose_config, tmp_path) -> None:
    """nndl/transformer_lcqmc as configured, end to end on small generated TSV files."""
    folder = make_fake_lcqmc(tmp_path / "data", 24)
    cfg = compose_config(
        ["experiment=nndl/transformer_lcqmc", f"paths.data_dir={tmp_path / 'data'}"]
    )
    assert cfg.data.path == str(folder) and cfg.trainer.max_epochs == 3
    assert (cfg.data.tokenizer, cfg.data.cls_token, cfg.data.max_seq_len) == ("chars", True, 64)
    datamodule = build_datamodule(cfg)
    task = build_model(cfg)
    net = task.net
    assert isinstance(net, TransformerClassifier) and net.pooling == "cls" and len(net.blocks) == 1
    assert net.embedding.segments.num_embeddings == 2 and net.embedding.positions.max_len == 512
    attention = net.blocks[0].attention
    assert (attention.heads, attention.head_size, net.head.out_features) == (4, 32, 2)
    assert net.blocks[0].ffn[0].out_features == 256
    optimizer = task.configure_optimizers()
    assert type(optimizer) is torch.optim.AdamW and optimizer.param_groups[0]["lr"] == 5e-5
    datamodule.setup()
    x, _ = datamodule.train_set.__getitems__([0, 1])
    first, second = (
        line.split("\t")[:2] for line in (folder / "train.tsv").read_text().split("\n")[:2]
    )
    vocabulary = datamodule.vocabulary
    cls, sep = vocabulary.id("[CLS]"), vocabulary.id("[SEP]")
    width = x.ids.shape[1]
    for row, (a, b) in enumerate([first, second]):
        # [CLS] a [SEP] in segment 0, b [SEP] in segment 1, then padding in segment 0
        expected = [0] * (len(a) + 2) + [1] * (len(b) + 1)
        assert x.segments[row].tolist() == expected + [0] * (width - len(expected))
        assert x.ids[row, : len(expected)].tolist() == [
            cls,
            *vocabulary.encode(a),
            sep,
            *vocabulary.encode(b),
            sep,
        ]
    record = train(cfg)
    assert record["epochs"] == 3 and 0.0 <= record["test/acc"] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["test/acc"] == record["test/acc"]


def vocab_without_cls_and_sep(folder: Path) -> list[str]:
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("".join(f"{token}\n" for token in ["[PAD]", "[UNK]", *CHARACTERS]))
    return [f"data.vocab_file={vocab_file}"]


def replace_line(name: str, number: int, line: str) -> Callable[[Path], list[str]]:
    def change(folder: Path) -> list[str]:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        lines[number - 1] = line
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return []

    return change


BAD_LCQMC_INPUT = {
    "max_len_below_max_seq_len": (
        ["model.net.max_len=32"],
        "model.net.max_len=32 is shorter than data.max_seq_len=64: the Transformer's position "
        "table has no row for a sample's tokens past 32. Set model.net.max_len=64 or more, or "
        "data.max_seq_len=32 or less",
    ),
    "heads_not_dividing": (
        ["model.net.heads=5"],
        "model.net.heads=5 does not divide model.net.hidden_size=128: each head attends in "
        "hidden_size / heads dimensions. Set model.net.heads to one of 1, 2, 4, 8, 16, 32, 64, 128",
    ),
    "vocab_file_without_cls_and_sep": (
        [vocab_without_cls_and_sep],
        "vocab.txt lacks [CLS], [SEP]: this data set needs the special tokens [PAD] [UNK] [CLS] "
        "[SEP]. Add each on a line of its own",
    ),
    "label_not_0_or_1": (
        [replace_line("train.tsv", 3, "天地\t人\t2")],
        "train.tsv:3: label 2 is outside 0..1; fix the line or set data.num_classes to the "
        "number of classes",
    ),
    "missing_column": (
        [replace_line("dev.tsv", 2, "天地人\t1")],
        "dev.tsv:2 has 2 tab-separated columns, expected 3 (text_a, text_b, label); fix or "
        "remove it",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_LCQMC_INPUT))
def test_bad_lcqmc_input_is_one_clear_message(case, tmp_path, capsys, monkeypatch) -> None:
    """Through dlbasics-train: exit code 2, one message naming the key and the fix."""
    changes, expected = BAD_LCQMC_INPUT[case]
    folder = make_fake_lcqmc(tmp_path / "data", 4)
    # an override as it is, or a flaw written into the files (and the overrides it needs)
    overrides = [
        item
        for change in changes
        for item in ([change] if isinstance(change, str) else change(folder))
    ]
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={tmp_path / 'logs'}",
        f"paths.data_dir={tmp_path / 'data'}",
        "experiment=nndl/transformer_lcqmc",
        "trainer=cpu",
        "logger=csv",
        "extras.print_config=false",
        *overrides,
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert expected in stderr and "Traceback" not in stderr
    assert not list((tmp_path / "logs").rglob("metrics.json"))


def test_a_kv_sample_answers_with_the_value_after_the_queried_key() -> None:
    rng = random.Random(0)
    for _ in range(200):
        text, label = kv_sample(4, 16, 8, rng)
        tokens = text.split()
        assert len(tokens) == 10 and tokens[-2] == QUERY
        keys, values = tokens[0:8:2], tokens[1:8:2]
        assert len(set(keys)) == 4 and len(set(values)) == 4  # each stored once
        assert values[keys.index(tokens[-1])] == f"v{label}"


def test_every_pairing_of_a_bag_is_a_sample_so_a_bag_of_tokens_is_at_chance() -> None:
    """Re-pairing the stored values gives the same tokens, so the same bag, with each stored
    value as the answer once: a bag of tokens cannot beat 1 / num_pairs."""
    text, label = kv_sample(4, 16, 8, random.Random(1))
    tokens = text.split()
    keys, values, asked = tokens[0:8:2], tokens[1:8:2], tokens[-1]
    answers = set()
    for order in itertools.permutations(values):
        pairs = [t for pair in zip(keys, order, strict=True) for t in pair]
        assert sorted(pairs + tokens[-2:]) == sorted(tokens)
        answers.add(order[keys.index(asked)])
    assert answers == set(values) and f"v{label}" in answers


def test_kv_data_module_and_its_bad_settings(tmp_path) -> None:
    data = KeyValueRetrievalDataModule(
        num_train=20, num_val=5, num_test=5, tokenizer="whitespace", save_vocab=None, batch_size=4
    )
    data.setup("fit")
    assert data.num_classes == 8 and data.class_names[3] == "v3"
    batch, labels = next(iter(data.train_dataloader()))
    assert batch.ids.shape == (4, 10) and bool(batch.mask.all()) and labels.max() < 8
    with pytest.raises(ConfigError, match=r"data.num_pairs=5 exceeds data.num_values=4"):
        KeyValueRetrievalDataModule(num_pairs=5, num_values=4, tokenizer="whitespace")
    with pytest.raises(ConfigError, match=r"data.num_pairs=9 exceeds data.num_keys=8"):
        KeyValueRetrievalDataModule(num_pairs=9, num_keys=8, num_values=9)
    with pytest.raises(ConfigError, match=r"data.max_seq_len=6 would cut the samples"):
        KeyValueRetrievalDataModule(num_pairs=4, max_seq_len=6)


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=attention/kv_retrieval_mean"],
        ["experiment=attention/kv_retrieval_transformer"],
        ["experiment=study/word_order", "+variant=word_order/bilstm_attention"],
        ["experiment=study/word_order", "+variant=word_order/transformer"],
    ],
)
def test_attention_arms_run_a_few_batches(compose_config, tmp_path, overrides) -> None:
    shrink = ["data.num_train=64", "data.num_val=32", "data.num_test=32", "data.batch_size=32"]
    _, record = quick_run(compose_config, tmp_path, None, *overrides, *shrink)
    assert record["global_step"] == 2 and 0.0 <= record["test/acc"] <= 1.0


def test_the_transformer_arm_is_two_blocks_reading_the_query_position(compose_config) -> None:
    cfg = compose_config(["experiment=attention/kv_retrieval_transformer"])
    assert cfg.model.net.pooling == "last" and cfg.model.net.num_layers == 2
    assert cfg.data._target_.endswith("KeyValueRetrievalDataModule")
    mean = compose_config(["experiment=attention/kv_retrieval_mean"])
    assert (mean.model.net.encoder, mean.model.net.summary) == ("none", "mean")
    for key in ("data", "optimizer", "trainer"):  # the same data and budget
        assert cfg[key] == mean[key]


def test_attention_summary_is_the_pooling_of_the_encoder_outputs() -> None:
    torch.manual_seed(0)
    net = SequenceClassifier(12, 3, 8, 6, "gru", summary="attention", attention_scoring="dot")
    ids = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])
    lengths = torch.tensor([3, 2])
    mask = ids != 0
    outputs, _ = net.encoder(net.embedding(ids), lengths)
    pooled, weights = net.pooling(outputs, mask)
    assert torch.allclose(net((ids, lengths, mask)), net.head(pooled))
    assert torch.equal(weights[~mask], torch.zeros(3)) and torch.allclose(
        weights.sum(1), torch.ones(2)
    )
    [kept] = net.attention_weights
    assert torch.equal(kept, weights.detach())
    with pytest.raises(ConfigError, match=r"model.net.heads=5 does not divide"):
        SequenceClassifier(12, 3, 8, 6, "lstm", bidirectional=True, self_attention_heads=5)
    with pytest.raises(ConfigError, match=r"model.net.attention_scoring='cosine' is unknown"):
        SequenceClassifier(12, 3, summary="attention", attention_scoring="cosine")
    bag = SequenceClassifier(12, 3, 8, encoder="none", summary="mean", self_attention_heads=2)
    assert bag.self_attention is not None and bag.pooling is None
    assert masked_mean(torch.ones(1, 2, 1), torch.tensor([[True, False]])).item() == 1.0


def test_transformer_last_pooling_reads_the_last_valid_token() -> None:
    torch.manual_seed(0)
    net = TransformerClassifier(10, 2, 8, 2, 1, 16, 0.0, 8, pooling="last", padding_idx=0).eval()
    ids = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])
    lengths, mask = torch.tensor([3, 2]), ids != 0
    hidden = net.encode((ids, lengths, mask))
    expected = net.head(torch.stack([hidden[0, 2], hidden[1, 1]]))
    assert torch.allclose(net((ids, lengths, mask)), expected)


def test_the_attention_heatmap_is_logged_for_nets_with_weights(compose_config, tmp_path) -> None:
    run = tmp_path / "attention"
    quick_run(
        compose_config,
        run,
        None,
        "experiment=study/word_order",
        "+variant=word_order/bilstm_attention",
        "callbacks=[model_checkpoint,attention_maps]",
        "logger=tensorboard",
    )
    assert (run / "figures" / "attention_val.png").stat().st_size > 5_000
    assert TAG in load_events(run).Tags()["images"]
    plain = tmp_path / "plain"
    quick_run(
        compose_config,
        plain,
        None,
        "experiment=study/word_order",
        "+variant=word_order/bilstm",
        "callbacks=[model_checkpoint,attention_maps]",
    )
    assert not (plain / "figures" / "attention_val.png").exists()  # skipped with a note
    with pytest.raises(ConfigError, match=r"callbacks.attention_maps.num_sequences"):
        AttentionMaps(num_sequences=0)


def test_the_query_focus_of_a_kv_checkpoint(tmp_path, monkeypatch) -> None:
    from dlbasics.studies.kv_attention import main, query_focus

    quick = ["trainer=cpu", "trainer.max_epochs=1", "callbacks=model_checkpoint", "logger=csv"]
    shrink = ["data.num_train=64", "data.num_val=32", "data.num_test=32", "data.batch_size=32"]
    runs = {}
    for name, experiment in (
        ("kv", ["experiment=attention/kv_retrieval_transformer", *shrink]),
        ("bag", ["experiment=study/word_order", "+variant=word_order/bag", "hydra.mode=RUN"]),
    ):
        code, _ = run_main(
            train_main,
            f"paths.log_dir={tmp_path / name}",
            *quick,
            *experiment,
            monkeypatch=monkeypatch,
        )
        assert code == 0
        [run_dir] = run_dirs(tmp_path / name)
        runs[name] = json.loads((run_dir / "metrics.json").read_text())["best_ckpt"]
    focus = query_focus(Path(runs["kv"]))
    assert len(focus) == 2  # one row per block
    for key, value, uniform in focus:
        assert 0.0 <= key <= 1.0 and 0.0 <= value <= 1.0 and uniform == pytest.approx(0.1)
    assert main([runs["bag"]]) == 2  # not a kv_retrieval run: one error line
