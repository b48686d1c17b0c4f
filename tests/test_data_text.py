"""Text sets: tokenisers, the vocabulary, padded batches, the IMDB-layout folder, the TSV files,
the bad inputs each names, and every sequence data config composing."""

import json
from pathlib import Path

import pytest
import torch
from pytorch_lightning.utilities import move_data_to_device

from dlbasics.data import (
    SequenceBatch,
    TextFolderDataModule,
    TextPairDataModule,
    load_vocabulary,
    save_vocabulary,
)
from dlbasics.data.sequences import pad_sequences
from dlbasics.data.text import char_tokens, fit_pair, regex_tokens, whitespace_tokens
from dlbasics.errors import ConfigError, DataError
from dlbasics.utils.instantiate import build_datamodule
from tests.conftest import make_fake_imdb


def write_folder(root: Path, reviews: dict[str, list[str]]) -> Path:
    """An IMDB-layout folder: ``{"train/neg": [text, ...], ...}``, file i named ``i_1.txt``."""
    for folder, texts in reviews.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(texts):
            (root / folder / f"{i}_1.txt").write_text(text, encoding="utf-8")
    return root


SMALL = {
    "train/neg": ["bad bad plot", "bad acting", "dull"],
    "train/pos": ["good plot", "good good good acting", "fun and good"],
    "test/neg": ["bad zebra", "dull dull", "bad", "awful", "bad plot"],
    "test/pos": ["good", "fun", "good zebra", "great", "good plot"],
}


def ready(path: Path, **kwargs) -> TextFolderDataModule:
    data = TextFolderDataModule(path=str(path), **kwargs)
    data.setup()
    return data


def decoded(data, split: str) -> list[list[str]]:
    dataset = getattr(data, f"{split}_set")
    x, _ = dataset.__getitems__(list(range(len(dataset))))
    tokens = data.vocabulary.tokens
    return [[tokens[i] for i in row[:n]] for row, n in zip(x.ids.tolist(), x.lengths, strict=True)]


def test_tokenizers() -> None:
    text = "Don't <br />STOP, it's 好看!  a_b"
    assert regex_tokens(text) == ["don't", "stop", ",", "it's", "好", "看", "!", "a_b"]
    assert whitespace_tokens(text) == ["Don't", "<br", "/>STOP,", "it's", "好看!", "a_b"]
    assert regex_tokens("1 < 2 > 0</p>") == ["1", "<", "2", ">", "0"]  # tags only go
    assert char_tokens(" 我 爱你,Ab\t c\u3000") == ["我", "爱", "你", ",", "A", "b", "c"]


def test_split_sizes_and_the_stratified_seeded_cut(tmp_path: Path) -> None:
    data = ready(write_folder(tmp_path, SMALL))
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [6, 4, 6]
    assert data.val_set.targets.tolist() == [0, 0, 1, 1]  # half of each class, rounded down
    assert data.test_set.targets.tolist() == [0, 0, 0, 1, 1, 1]
    imdb = ready(make_fake_imdb(tmp_path / "fake", 10))
    assert [len(s) for s in (imdb.train_set, imdb.val_set, imdb.test_set)] == [20, 10, 10]
    assert torch.bincount(imdb.val_set.targets).tolist() == [5, 5]
    again = ready(tmp_path / "fake" / "aclImdb")
    other = ready(tmp_path / "fake" / "aclImdb", split_seed=1)
    assert torch.equal(again.val_set.inputs, imdb.val_set.inputs)
    assert decoded(other, "val") != decoded(imdb, "val")
    held_out = sorted(map(str, decoded(imdb, "val") + decoded(imdb, "test")))
    assert held_out == sorted(map(str, decoded(other, "val") + decoded(other, "test")))


def test_the_vocabulary_comes_from_training_texts_only(tmp_path: Path) -> None:
    data = ready(write_folder(tmp_path, SMALL))
    # counts in train: good 5, bad 3, acting 2, plot 2, and 1, dull 1, fun 1 (ties by token)
    assert data.vocabulary.tokens == [
        *("[PAD]", "[UNK]", "good", "bad", "acting", "plot", "and", "dull", "fun")
    ]
    assert data.info() == {
        "num_features": 256,
        "num_classes": 2,
        "class_names": ["neg", "pos"],
        "input_shape": None,
        "vocab_size": 9,
    }
    # zebra (twice), awful and great occur in the test half only: [UNK] there
    held_out = sorted(map(str, decoded(data, "val") + decoded(data, "test")))
    expected = ["bad [UNK]", "dull dull", "bad", "[UNK]", "bad plot"]
    expected += ["good", "fun", "good [UNK]", "[UNK]", "good plot"]
    assert held_out == sorted(str(text.split()) for text in expected)
    assert data.vocabulary.encode(["zebra", "great", "[PAD]", "good"]) == [1, 1, 1, 2]


def test_min_freq_and_max_size(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, SMALL)
    assert ready(folder, min_freq=2).vocabulary.tokens[2:] == ["good", "bad", "acting", "plot"]
    assert ready(folder, max_size=5).vocabulary.tokens == [
        "[PAD]",
        "[UNK]",
        "good",
        "bad",
        "acting",
    ]
    with pytest.raises(
        ConfigError, match=r"data.min_freq=6 leaves the vocabulary without a word.*5"
    ):
        ready(folder, min_freq=6)


def test_truncation_padding_lengths_and_mask(tmp_path: Path) -> None:
    data = ready(write_folder(tmp_path, SMALL), max_seq_len=3)
    assert decoded(data, "train")[4] == ["good", "good", "good"]  # the first three of four
    x, y = data.train_set.__getitems__([5, 1, 2])  # "fun and good", "bad acting", "dull"
    assert x.ids.tolist() == [[8, 6, 2], [3, 4, 0], [7, 0, 0]]
    assert x.lengths.tolist() == [3, 2, 1] and y.tolist() == [1, 0, 0]
    assert x.mask.tolist() == [[True] * 3, [True, True, False], [True, False, False]]
    x, _ = data.train_set.__getitems__([1, 2])  # padded to the longest of this batch only
    assert x.ids.shape == (2, 2) and x.ids.dtype == torch.long and x.mask.dtype == torch.bool
    one, label = data.train_set[1]
    assert one.ids.tolist() == [3, 4] and int(one.lengths) == 2 and int(label) == 0
    moved = move_data_to_device((x, y), torch.device("cpu"))
    assert isinstance(moved[0], SequenceBatch)
    assert pad_sequences([[5], [6, 7, 8]], pad_id=0).tolist() == [[5, 0, 0], [6, 7, 8]]


def test_a_saved_vocabulary_gives_the_same_ids(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "imdb", SMALL)
    saved = tmp_path / "run" / "vocab.json"
    first = ready(folder, save_vocab=str(saved))
    entry = json.loads(saved.read_text())
    assert entry["tokens"] == first.vocabulary.tokens and entry["tokenizer"] == "regex"
    assert entry["specials"] == ["[PAD]", "[UNK]"] and entry["pairs"] is False
    # another min_freq would build another vocabulary; the saved one wins
    again = ready(folder, vocab_path=str(saved), min_freq=3)
    assert again.vocabulary.tokens == first.vocabulary.tokens
    for split in ("train_set", "val_set", "test_set"):
        assert torch.equal(getattr(again, split).inputs, getattr(first, split).inputs)
    reloaded = load_vocabulary(save_vocabulary(tmp_path / "copy.json", again.vocabulary))
    assert reloaded.encode(["plot", "zebra"]) == [5, 1]
    with pytest.raises(ConfigError, match=r"built with tokenizer=regex.*data.tokenizer=whitespace"):
        ready(folder, vocab_path=str(saved), tokenizer="whitespace")
    (tmp_path / "bad.json").write_text('{"tokens": ["a"]}')
    with pytest.raises(DataError, match="bad.json is no vocabulary file"):
        ready(folder, vocab_path=str(tmp_path / "bad.json"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no_pos", r"has no train/pos, test/pos folder"),
        ("empty", r"train/neg/1_1.txt is empty"),
        ("latin1", r"train/pos/0_1.txt is not UTF-8 text \(byte 3 is 0xe9\)"),
        ("markup", r"test/pos/0_1.txt has no tokens under data.tokenizer=regex"),
        ("no_txt", r"test/neg holds no .txt file"),
        (
            "unreadable",
            r"cannot read .*train/neg/9_1.txt \(Is a directory\); make it a readable text file",
        ),
    ],
)
def test_bad_folders_and_files_are_named(tmp_path: Path, change: str, message: str) -> None:
    folder = write_folder(tmp_path, SMALL)
    if change == "no_pos":
        for half in ("train", "test"):
            for file in (folder / half / "pos").iterdir():
                file.unlink()
            (folder / half / "pos").rmdir()
    elif change == "empty":
        (folder / "train/neg/1_1.txt").write_text("  \n")
    elif change == "latin1":
        (folder / "train/pos/0_1.txt").write_bytes("caf\u00e9 good".encode("latin-1"))
    elif change == "markup":
        (folder / "test/pos/0_1.txt").write_text("<br /><br />")
    elif change == "unreadable":  # named like a review, but no file it can read
        (folder / "train/neg/9_1.txt").mkdir()
    else:
        for file in (folder / "test/neg").iterdir():
            file.rename(file.with_suffix(".md"))
    with pytest.raises(DataError, match=message):
        ready(folder)


def test_bad_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.max_seq_len must be a positive integer, got 0"):
        TextFolderDataModule(path=str(tmp_path), max_seq_len=0)
    with pytest.raises(ConfigError, match="data.tokenizer='bpe' is unknown"):
        TextFolderDataModule(path=str(tmp_path), tokenizer="bpe")
    with pytest.raises(DataError, match=r"no folder .*missing.*Set data.path"):
        TextFolderDataModule(path=str(tmp_path / "missing")).info()


def test_lines_to_predict_get_the_ids_of_the_saved_vocabulary(tmp_path: Path) -> None:
    saved = tmp_path / "run" / "vocab.json"
    ready(write_folder(tmp_path / "imdb", SMALL), save_vocab=str(saved))
    lines = tmp_path / "reviews.txt"
    # a byte-order mark, blank lines, CRLF and a lone CR end lines as a text editor reads them
    lines.write_bytes(
        "\ufeffGood plot, zebra!\r\n\n   \nfun fun fun fun fun bad\rdull <br /> acting\n".encode()
    )
    # no training folder: the saved vocabulary alone encodes the lines
    data = TextFolderDataModule(path=str(tmp_path / "gone"), vocab_path=str(saved), max_seq_len=4)
    assert data.info()["vocab_size"] == 9
    encoded = data.encode_lines(lines)
    assert encoded.numbers == [1, 4, 5]
    assert encoded.texts == ["Good plot, zebra!", "fun fun fun fun fun bad", "dull <br /> acting"]
    x, targets = encoded.dataset.__getitems__([0, 1, 2])
    # good plot , zebra (! cut at max_seq_len=4); "," and "zebra" are no training words
    assert x.ids.tolist() == [[2, 5, 1, 1], [8, 8, 8, 8], [7, 4, 0, 0]]
    assert x.lengths.tolist() == [4, 4, 2] and targets.tolist() == [-1, -1, -1]


def test_lines_of_a_pair_set_are_tab_separated_pairs(tmp_path: Path) -> None:
    data = TextPairDataModule(path=str(write_tsv(tmp_path / "tsv", PAIRS)), max_seq_len=5)
    lines = tmp_path / "pairs.txt"
    lines.write_text("how old are you\twhat is it\n")
    x, _ = data.encode_lines(lines).dataset.__getitems__([0])
    tokens = data.vocabulary.tokens
    assert [tokens[i] for i in x.ids[0].tolist()] == ["how", "old", "[SEP]", "what", "is"]
    lines.write_text("how old are you\n")
    with pytest.raises(DataError, match=r"pairs.txt:1 has 1 tab-separated columns.*text_a <TAB>"):
        data.encode_lines(lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"text_file=.*missing.txt does not exist; pass text_file=<a UTF-8 text file"),
        (b"\n  \n\t\r\n", r"text_file=.*lines.txt holds no text, every line is empty; pass"),
        (b"good\ncaf\xe9\n", r"text_file: .*lines.txt is not UTF-8 text \(byte 8 is 0xe9\)"),
        (b"good\n<br />\n", r"lines.txt:2 has no tokens under data.tokenizer=regex"),
    ],
    ids=["missing", "blank", "latin1", "markup"],
)
def test_bad_files_to_predict_are_named(tmp_path: Path, content, message) -> None:
    data = ready(write_folder(tmp_path / "imdb", SMALL))
    lines = tmp_path / ("missing.txt" if content is None else "lines.txt")
    if content is not None:
        lines.write_bytes(content)
    with pytest.raises(DataError, match=message):
        data.encode_lines(lines, key="text_file")


def write_tsv(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


PAIRS = {
    "train.tsv": ["how old are you\thow old r u\t1", "", "where is it\twhat is it\t0"],
    "dev.tsv": ["how are you\twhere are you\t0"],
    "test.tsv": ["我 爱 你\t我喜欢你\t1"],
}


def test_sentence_pairs_are_one_sequence_joined_by_sep(tmp_path: Path) -> None:
    data = TextPairDataModule(path=str(write_tsv(tmp_path, PAIRS)), max_seq_len=7)
    data.setup()
    vocabulary = data.vocabulary
    assert vocabulary.tokens[:3] == ["[PAD]", "[UNK]", "[SEP]"]
    assert data.info()["class_names"] == ["0", "1"] and data.train_set.targets.tolist() == [1, 0]
    assert decoded(data, "train") == [
        ["how", "old", "are", "[SEP]", "how", "old", "r"],  # 3 + 4 tokens: 3 + [SEP] + 3
        ["where", "is", "it", "[SEP]", "what", "is", "it"],
    ]
    assert decoded(data, "test") == [["[UNK]"] * 3 + ["[SEP]"] + ["[UNK]"] * 3]
    assert [fit_pair(10, 2, 7), fit_pair(10, 10, 7), fit_pair(2, 10, 7)] == [(5, 2), (4, 3), (2, 5)]
    single = {
        name: [line.split("\t", 1)[1] for line in lines if line] for name, lines in PAIRS.items()
    }
    header = {name: ["text\tlabel", *lines] for name, lines in single.items()}
    data = TextPairDataModule(path=str(write_tsv(tmp_path / "single", header)), header=True)
    data.setup()
    assert decoded(data, "train") == [["how", "old", "r", "u"], ["what", "is", "it"]]
    assert data.vocabulary.specials == ("[PAD]", "[UNK]")
    assert data.train_set[0][0].segments is None  # the plain layout has no segment ids


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "a\tb\tc\t1",
            r"dev.tsv:2 has 4 tab-separated columns, expected 3 \(text_a, text_b, label\)",
        ),
        ("a\t1", r"dev.tsv:2 has 2 tab-separated columns, expected 3 \(text_a, text_b, label\)"),
        ("a\tb\tyes", r"dev.tsv:2: the label 'yes' is not an integer"),
        ("a\tb\t0.5", r"dev.tsv:2: the label '0.5' is not an integer; the last column holds"),
        ("a\tb\t2", r"dev.tsv:2: label 2 is outside 0..1.*data.num_classes"),
        ("a\tb\t-1", r"dev.tsv:2: label -1 is outside 0..1.*data.num_classes"),
        ("a\t \t1", r"text_b of .*dev.tsv:2 has no tokens"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    files = {**PAIRS, "dev.tsv": [PAIRS["dev.tsv"][0], line]}
    with pytest.raises(DataError, match=message):
        TextPairDataModule(path=str(write_tsv(tmp_path, files))).info()
    files = {**PAIRS, "train.tsv": ["just one column"]}
    with pytest.raises(DataError, match=r"train.tsv:1 has 1 .*expected 2 \(text, label\) or 3"):
        TextPairDataModule(path=str(write_tsv(tmp_path / "one", files))).info()


@pytest.mark.parametrize("name", ["digit_sum", "text_folder", "text_tsv", "negation_reviews"])
def test_every_sequence_data_config_composes(compose_config, fake_data_dir, tmp_path, name) -> None:
    write_tsv(fake_data_dir / "lcqmc", PAIRS)
    cfg = compose_config([f"data={name}", f"paths.data_dir={fake_data_dir}"])
    datamodule = build_datamodule(cfg)
    info = cfg.data_info
    assert info.vocab_size > 2 and info.num_features > 0 and info.input_shape is None
    assert len(info.class_names) == info.num_classes
    datamodule.setup()
    x, y = next(iter(datamodule.val_dataloader()))
    assert isinstance(x, SequenceBatch) and len(x.ids) == len(y) > 0
    assert int(x.ids.max()) < info.vocab_size and int(x.lengths.max()) <= info.num_features
    if name != "digit_sum":  # the run dir gets the vocabulary
        assert load_vocabulary(tmp_path / "vocab.json").tokens == datamodule.vocabulary.tokens


BERT_PAIRS = {
    "train.tsv": ["a b\tc\t1", "d\te f g\t0", "a\tg\t1"],
    "dev.tsv": ["b\tc\t0"],
    "test.tsv": ["a b c d\te f g h\t1"],
}


def bert_pairs(folder: Path, **kwargs) -> TextPairDataModule:
    data = TextPairDataModule(
        path=str(write_tsv(folder, BERT_PAIRS)), tokenizer="whitespace", cls_token=True, **kwargs
    )
    data.setup()
    return data


def test_the_bert_layout_puts_cls_first_and_sep_after_each_side(tmp_path: Path) -> None:
    data = bert_pairs(tmp_path, max_seq_len=7)
    assert data.vocabulary.tokens[:4] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    assert decoded(data, "train")[:2] == [
        ["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"],
        ["[CLS]", "d", "[SEP]", "e", "f", "g", "[SEP]"],
    ]
    # 4 + 4 tokens in 7 - 3 specials: two of each side, the specials kept
    assert decoded(data, "test") == [["[CLS]", "a", "b", "[SEP]", "e", "f", "[SEP]"]]
    x, _ = data.train_set.__getitems__([0, 1])
    assert x.lengths.tolist() == [6, 7] and x.ids[0, 6] == 0  # padded with [PAD]
    # segment 0: [CLS] a [SEP]; 1: b [SEP]; the padding 0
    assert x.segments.tolist() == [[0, 0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1]]
    one, _ = data.train_set[1]
    assert one.segments.tolist() == [0, 0, 0, 1, 1, 1, 1]
    with pytest.raises(
        ConfigError,
        match=r"max_seq_len=4 cannot hold a sentence pair \(\[CLS\], "
        r"a token, \[SEP\], a token, \[SEP\]\); set data.max_seq_len=5 or more",
    ):
        bert_pairs(tmp_path / "short", max_seq_len=4)


def test_a_single_text_in_the_bert_layout_is_cls_text_sep(tmp_path: Path) -> None:
    data = ready(write_folder(tmp_path, SMALL), cls_token=True, max_seq_len=4)
    assert data.vocabulary.specials == ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
    assert decoded(data, "train")[4:] == [
        ["[CLS]", "good", "good", "[SEP]"],  # the first two of four words, the specials kept
        ["[CLS]", "fun", "and", "[SEP]"],
    ]
    assert data.train_set[0][0].segments is None  # one text: no second segment
    with pytest.raises(ConfigError, match=r"cannot hold a text \(\[CLS\], a token, \[SEP\]\)"):
        ready(tmp_path, cls_token=True, max_seq_len=2)
    with pytest.raises(ConfigError, match="data.cls_token must be true or false"):
        TextFolderDataModule(path=str(tmp_path), cls_token="yes")
    with pytest.raises(ConfigError, match=r"data.max_size must be an integer >= 5"):
        TextFolderDataModule(path=str(tmp_path), cls_token=True, max_size=4)


def write_vocab(path: Path, tokens: list[str]) -> Path:
    path.write_text("".join(f"{token}\n" for token in tokens), encoding="utf-8")
    return path


# the specials at other ids than a built vocabulary's, [PAD] too (BERT: 0, 100, 101, 102)
VOCAB = ["[unused0]", "a", "[PAD]", "b", "c", "[UNK]", "[CLS]", "[SEP]", "e", "f", "[MASK]"]


def test_a_vocab_file_gives_its_line_numbers_as_ids(tmp_path: Path) -> None:
    vocab_file = write_vocab(tmp_path / "vocab.txt", VOCAB)
    saved = tmp_path / "run" / "vocab.json"
    data = bert_pairs(tmp_path / "tsv", vocab_file=str(vocab_file), save_vocab=str(saved))
    vocabulary = data.vocabulary
    assert vocabulary.tokens == VOCAB and len(vocabulary) == 11 and vocabulary.pairs
    assert [vocabulary.id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")] == [2, 5, 6, 7]
    # d, g, h are not in the file: [UNK]; a text's "[SEP]" or "[PAD]" is no special either
    assert vocabulary.encode(["a", "d", "[SEP]", "[PAD]", "[MASK]", "f"]) == [1, 5, 5, 5, 10, 9]
    x, _ = data.train_set.__getitems__([0, 1])
    assert x.ids.tolist() == [[6, 1, 3, 7, 4, 7, 2], [6, 5, 7, 8, 9, 5, 7]]  # padded with 2
    assert x.lengths.tolist() == [6, 7] and x.mask.sum().item() == 13
    assert x.segments.tolist() == [[0, 0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1]]
    # the run's vocab.json rebuilds the same ids without the file (eval and predict)
    vocab_file.unlink()
    reloaded = load_vocabulary(saved)
    assert (reloaded.tokens, reloaded.specials, reloaded.pairs) == (
        VOCAB,
        ("[PAD]", "[UNK]", "[CLS]", "[SEP]"),
        True,
    )
    again = bert_pairs(tmp_path / "tsv", vocab_file=str(vocab_file), vocab_path=str(saved))
    for split in ("train_set", "val_set", "test_set"):
        assert torch.equal(getattr(again, split).inputs, getattr(data, split).inputs)
    lines = tmp_path / "pairs.txt"
    lines.write_text("a b\te\n")
    gone = TextPairDataModule(
        path="gone", tokenizer="whitespace", cls_token=True, vocab_path=str(saved)
    )
    encoded, _ = gone.encode_lines(lines).dataset.__getitems__([0])
    assert encoded.ids.tolist() == [[6, 1, 3, 7, 8, 7]]
    assert encoded.segments.tolist() == [[0, 0, 0, 0, 1, 1]]


def test_a_saved_vocabulary_must_match_the_layout(tmp_path: Path) -> None:
    saved = tmp_path / "vocab.json"
    bert_pairs(tmp_path / "tsv", save_vocab=str(saved))
    with pytest.raises(
        ConfigError,
        match=r"saved by a run with data.cls_token=true, but "
        r"data.cls_token=false; set data.cls_token=true",
    ):
        TextPairDataModule(path="gone", tokenizer="whitespace", vocab_path=str(saved)).info()
    with pytest.raises(
        DataError,
        match=r"saved for sentence pairs .* this data set has single "
        r"texts .*another kind of text set",
    ):
        ready(
            write_folder(tmp_path / "imdb", SMALL),
            cls_token=True,
            vocab_path=str(saved),
            tokenizer="whitespace",
        )
    # a vocab.json written before "pairs" was saved: the pair sets were those with [SEP]
    old = {
        "tokenizer": "regex",
        "specials": ["[PAD]", "[UNK]", "[SEP]"],
        "tokens": ["[PAD]", "[UNK]", "[SEP]", "a"],
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert load_vocabulary(tmp_path / "old.json").pairs is True


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (
            ["[PAD]", "[UNK]", "a", "b"],
            r"vocab.txt lacks \[CLS\], \[SEP\]: this data set needs the special tokens "
            r"\[PAD\] \[UNK\] \[CLS\] \[SEP\]. Add each on a line of its own .*or set "
            r"data.vocab_file=null to build the vocabulary from the training texts",
        ),
        (["[UNK]", "[CLS]", "[SEP]", "a"], r"vocab.txt lacks \[PAD\]: this data set needs"),
        (["[PAD]", "[UNK]", "", "[CLS]", "[SEP]"], r"line 3 is blank; .*\[unused2\]"),
        (["[PAD]", "a", "[UNK]", "a", "[CLS]", "[SEP]"], r"'a' is on lines 2 and 4"),
        (["[PAD]", "[UNK]", "[CLS]", "[SEP]"], r"vocab.txt holds the special tokens only"),
        (None, r"data.vocab_file=.*vocab.txt does not exist; point it at a vocab.txt"),
    ],
    ids=["no_cls_sep", "no_pad", "blank", "twice", "specials_only", "missing"],
)
def test_a_bad_vocab_file_is_named_with_the_fix(tmp_path: Path, tokens, message) -> None:
    vocab_file = tmp_path / "vocab.txt"
    if tokens is not None:
        write_vocab(vocab_file, tokens)
    with pytest.raises(DataError, match=message):
        bert_pairs(tmp_path / "tsv", vocab_file=str(vocab_file))
