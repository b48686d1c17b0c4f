"""Text sets: the tokenisers, the vocabulary and the DataModule base every text set shares.

A subclass of :class:`TextDataModule` only reads its texts (``read_texts``); the base
tokenises them, builds the vocabulary from the training split (or loads a saved one),
encodes and truncates every sample once and holds each split as a padded id tensor
(:class:`~dlbasics.data.sequences.SequenceDataset`), so a batch is a
``(SequenceBatch, labels)`` pair like every sequence set's.

Tokenisers (``data.tokenizer``):

- ``regex``: lower-case; HTML tags (IMDB's ``<br />``) become spaces; the tokens are runs
  of word characters (letters, digits, ``_``; inner apostrophes kept: ``don't``), each
  other non-space character on its own (punctuation), and each CJK character on its own
  (so Chinese text gets character tokens).
- ``whitespace``: the pieces between whitespace, case kept.
- ``chars``: one token per non-space character, case kept (the book tokenises Chinese
  by character, as BERT's Chinese vocabulary does).

A sample is encoded in one of two layouts:

- plain (``cls_token=false``): ``a`` for a text, ``a [SEP] b`` for a sentence pair;
- BERT (``cls_token=true``): ``[CLS] a [SEP]`` and ``[CLS] a [SEP] b [SEP]``, the batch
  carrying segment ids for pairs (0 for ``[CLS] a [SEP]``, 1 for ``b [SEP]``; see
  :mod:`dlbasics.data.sequences`), so a classifier reads the pair at ``[CLS]``.

Either way the sample has at most ``max_seq_len`` tokens, its specials included: a pair's
longer side is cut first (:func:`fit_pair`), a text keeps its first tokens.

The vocabulary lists its tokens in id order. Built from the training split, the specials
come first (``[PAD]`` = 0, ``[UNK]`` = 1; then ``[SEP]`` = 2 for plain pairs, or
``[CLS]`` = 2 and ``[SEP]`` = 3 in the BERT layout), then the training tokens seen at
least ``min_freq`` times, most frequent first, ties in code-point order of the token,
cut at ``max_size`` ids in all. ``vocab_file`` instead reads a BERT-style ``vocab.txt``
(one token per line, its id the line number from 0; ``min_freq`` and ``max_size`` do not
apply), whose specials may sit at any ids (BERT's: ``[PAD]`` = 0, ``[UNK]`` = 100,
``[CLS]`` = 101, ``[SEP]`` = 102); the batches are padded with its ``[PAD]`` id. A token
outside the vocabulary, or one spelled like a special, encodes as ``[UNK]``.
``save_vocab`` writes the vocabulary as JSON (the tokens in id order, the specials by
name, the tokeniser and whether it is a pair set's) when the DataModule is set up;
``vocab_path`` reuses such a file instead of building or reading one (it wins over
``vocab_file``), which is how a later evaluation gets exactly the same ids. A saved
vocabulary is read on its own, without the texts, so ``encode_lines`` (raw lines to
predict) needs only the run's vocab.json, not its training data.
"""

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import torch

from dlbasics.data.base import InMemoryDataModule
from dlbasics.data.sequences import SequenceDataset, pad_sequences
from dlbasics.errors import ConfigError, DataError
from dlbasics.utils.checks import (
    require_choice,
    require_flag,
    require_integer,
    require_positive_integer,
)

PAD, UNK, SEP, CLS = "[PAD]", "[UNK]", "[SEP]", "[CLS]"
SPECIALS = (PAD, UNK)
PAIR_SPECIALS = (PAD, UNK, SEP)
CLS_SPECIALS = (PAD, UNK, CLS, SEP)  # the BERT layout, for texts and pairs alike
SPECIAL_SETS = (SPECIALS, PAIR_SPECIALS, CLS_SPECIALS)
SPLITS = ("train", "val", "test")

_HTML_TAG = re.compile(r"</?[a-z][^<>]*>")  # after lower()
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:'[^\W{_CJK}]+)*|[^\w\s]")


def regex_tokens(text: str) -> list[str]:
    return _TOKEN.findall(_HTML_TAG.sub(" ", text.lower()))


def whitespace_tokens(text: str) -> list[str]:
    return text.split()


def char_tokens(text: str) -> list[str]:
    return [char for char in text if not char.isspace()]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "regex": regex_tokens,
    "whitespace": whitespace_tokens,
    "chars": char_tokens,
}


class Vocabulary:
    """Tokens in id order; ``encode`` maps tokens to ids. ``specials`` names the special
    tokens (one of ``SPECIAL_SETS``), which may sit at any ids of ``tokens``; ``pairs``: the
    vocabulary of a sentence-pair set, so lines to predict are read as pairs."""

    def __init__(
        self, tokens: Sequence[str], specials: Sequence[str], tokenizer: str, pairs: bool = False
    ) -> None:
        self.tokens = list(tokens)
        self.specials = tuple(specials)
        self.tokenizer = tokenizer
        self.pairs = pairs
        self.special_ids = {special: self.tokens.index(special) for special in self.specials}
        # specials are not spelled by any text: "[PAD]" in a text is an unknown token
        self.index = {t: i for i, t in enumerate(self.tokens) if t not in self.special_ids}
        self.unk_id = self.special_ids[UNK]

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, special: str) -> int:
        return self.special_ids[special]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self.index.get(token, self.unk_id) for token in tokens]


def build_vocabulary(
    token_lists: Iterable[Sequence[str]],
    specials: Sequence[str],
    tokenizer: str,
    min_freq: int,
    max_size: int | None,
    pairs: bool = False,
) -> Vocabulary:
    """The vocabulary of ``token_lists`` (the training split): see the module docstring."""
    counts = Counter(chain.from_iterable(token_lists))
    for special in specials:
        counts.pop(special, None)
    kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
    if not kept:
        most = max(counts.values(), default=0)
        raise ConfigError(
            f"data.min_freq={min_freq} leaves the vocabulary without a word: no training "
            f"token occurs more than {most} times; lower data.min_freq to {max(most, 1)} or less"
        )
    if max_size is not None:
        kept = kept[: max_size - len(specials)]
    return Vocabulary([*specials, *kept], specials, tokenizer, pairs)


def read_vocab_file(
    path: str | Path, specials: Sequence[str], tokenizer: str, pairs: bool
) -> Vocabulary:
    """The BERT-style vocabulary file ``path`` (``data.vocab_file``): one token per line,
    its id the line number from 0, holding every one of ``specials`` at any line."""
    path = Path(path).expanduser()
    fix = "set data.vocab_file=null to build the vocabulary from the training texts"
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(
            f"data.vocab_file={path} {problem}; point it at a vocab.txt (one token per line, "
            f"its id the line number from 0), or {fix}"
        )
    try:
        text = read_text_file(path)
    except DataError as error:
        raise DataError(f"data.vocab_file: {error}") from error
    tokens = [line.strip() for line in _LINE_BREAK.split(text.removeprefix("\ufeff"))]
    if tokens[-1] == "":  # the line break that ends the last line
        tokens.pop()
    lines: dict[str, int] = {}
    for number, token in enumerate(tokens, start=1):
        if not token:  # dropping it would shift every later id
            raise DataError(
                f"data.vocab_file={path}: line {number} is blank; every line holds one token "
                f"(id {number - 1} here), so put a placeholder such as [unused{number - 1}] there"
            )
        if token in lines:
            raise DataError(
                f"data.vocab_file={path}: {token!r} is on lines {lines[token]} and {number}; "
                f"a token may have one id only, so remove one of them"
            )
        lines[token] = number
    missing = [special for special in specials if special not in lines]
    if missing:
        raise DataError(
            f"data.vocab_file={path} lacks {', '.join(missing)}: this data set needs the "
            f"special tokens {' '.join(specials)}. Add each on a line of its own (BERT's "
            f"vocab.txt has [PAD] on line 1 and [UNK] [CLS] [SEP] on lines 101-103), or {fix}"
        )
    if len(tokens) == len(specials):
        raise DataError(f"data.vocab_file={path} holds the special tokens only; {fix}")
    return Vocabulary(tokens, specials, tokenizer, pairs)


def save_vocabulary(path: str | Path, vocabulary: Vocabulary) -> Path:
    """Write ``vocabulary`` as JSON at ``path`` (through a temporary file, so a reader never
    sees half a file); the folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "tokenizer": vocabulary.tokenizer,
        "specials": list(vocabulary.specials),
        "pairs": vocabulary.pairs,
        "tokens": vocabulary.tokens,
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(entry, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def load_vocabulary(path: str | Path) -> Vocabulary:
    """The vocabulary :func:`save_vocabulary` wrote at ``path``."""
    path = Path(path)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(
            f"data.vocab_path: cannot read the vocabulary {path} ({error}); point data.vocab_path "
            f"at the vocab.json a run wrote, or set it to null to build one"
        ) from error
    tokens = entry.get("tokens") if isinstance(entry, dict) else None
    specials = entry.get("specials") if isinstance(entry, dict) else None
    tokenizer = entry.get("tokenizer") if isinstance(entry, dict) else None
    # files written before "pairs" was saved: a pair set was the one with [SEP]
    pairs = entry.get("pairs", SEP in specials) if isinstance(specials, list) else None
    well_formed = (
        isinstance(tokens, list)
        and isinstance(specials, list)
        and all(isinstance(t, str) for t in tokens)
        and len(set(tokens)) == len(tokens)
        and tuple(specials) in SPECIAL_SETS
        and set(specials) <= set(tokens)
        and len(tokens) > len(specials)
        and tokenizer in TOKENIZERS
        and isinstance(pairs, bool)
    )
    if not well_formed:
        layouts = " or ".join(" ".join(s) for s in SPECIAL_SETS)
        raise DataError(
            f"{path} is no vocabulary file: it needs 'tokens' (distinct strings in id order, "
            f"its specials among them), 'specials' ({layouts}), 'tokenizer' (one of "
            f"{', '.join(TOKENIZERS)}) and optionally 'pairs' (true or false); point "
            f"data.vocab_path at the vocab.json a run wrote"
        )
    return Vocabulary(tokens, specials, tokenizer, pairs)


def read_text_file(path: Path) -> str:
    """The UTF-8 text of ``path``; a DataError naming the file if it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as error:
        raise DataError(
            f"cannot read {path} ({error.strerror or error}); make it a readable text file "
            f"or remove it"
        ) from error
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path} is not UTF-8 text (byte {error.start} is {error.object[error.start]:#04x}); "
            f"convert it to UTF-8 (e.g. iconv -t utf-8) or remove it"
        ) from error


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # universal newlines, as open() reads text; not
# str.splitlines, which also breaks at U+2028 and other separators a review may hold


def read_text_lines(path: str | Path, key: str) -> tuple[list[int], list[str]]:
    """The non-empty lines of the UTF-8 file ``path`` (a leading byte-order mark dropped) and
    their line numbers, from 1; the messages name the setting ``key`` that gave the path."""
    path = Path(path).expanduser()
    fix = f"pass {key}=<a UTF-8 text file with one text per line>"
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(f"{key}={path} {problem}; {fix}")
    try:
        text = read_text_file(path)
    except DataError as error:
        raise DataError(f"{key}: {error}") from error
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise DataError(f"{key}={path} holds no text, every line is empty; {fix}")
    return [number for number, _ in numbered], [line for _, line in numbered]


Text = str | tuple[str, str]  # one text, or a sentence pair


@dataclass
class TextSplit:
    """The samples of one split as read: texts, integer labels, and for each sample where
    it came from (a file, ``file:line``) for the messages of bad samples."""

    texts: list[Text]
    labels: list[int]
    sources: list[str]

    def subset(self, indices: Iterable[int]) -> "TextSplit":
        indices = list(indices)
        return TextSplit(
            [self.texts[i] for i in indices],
            [self.labels[i] for i in indices],
            [self.sources[i] for i in indices],
        )


@dataclass
class TextLines:
    """Lines of a file to predict: their numbers in the file, the texts as read, and the
    encoded samples (targets -1: the lines have no label)."""

    numbers: list[int]
    texts: list[str]
    dataset: SequenceDataset


def fit_pair(first: int, second: int, budget: int) -> tuple[int, int]:
    """Tokens kept of a pair of ``first`` and ``second`` tokens so that at most ``budget``
    remain: tokens come off the longer side first (the shorter one stays whole if it
    fits in half), so both sides keep what they can share."""
    if first + second <= budget:
        return first, second
    kept_first = min(first, max(budget - second, budget - budget // 2))
    return kept_first, min(second, budget - kept_first)


class TextDataModule(InMemoryDataModule):
    """Texts tokenised, encoded, truncated and padded once; batches of
    :class:`~dlbasics.data.sequences.SequenceBatch`.

    Subclasses set ``num_classes`` and ``class_names`` and implement ``read_texts``. A
    sentence pair is one sequence, ``a [SEP] b`` or with ``cls_token`` ``[CLS] a [SEP] b
    [SEP]`` plus segment ids (the longer side cut first when the pair exceeds
    ``max_seq_len``), so a pair set gives the same batches as a single-text one.
    """

    def __init__(
        self,
        tokenizer: str = "regex",
        min_freq: int = 1,
        max_size: int | None = None,
        max_seq_len: int = 256,
        cls_token: bool = False,
        vocab_file: str | None = None,
        vocab_path: str | None = None,
        save_vocab: str | None = None,
        **loader_kwargs: Any,
    ) -> None:
        super().__init__(**loader_kwargs)
        self.tokenizer = require_choice("data.tokenizer", tokenizer, TOKENIZERS)
        self.min_freq = require_positive_integer("data.min_freq", min_freq)
        self.cls_token = require_flag("data.cls_token", cls_token)
        if max_size is not None:  # room for the specials and a word
            most_specials = CLS_SPECIALS if cls_token else PAIR_SPECIALS
            require_integer("data.max_size", max_size, minimum=len(most_specials) + 1)
        self.max_size = max_size
        self.max_seq_len = require_positive_integer("data.max_seq_len", max_seq_len)
        self.vocab_file = vocab_file
        self.vocab_path = vocab_path
        self.save_vocab = save_vocab
        self._vocabulary: Vocabulary | None = None
        self._splits: dict[str, SequenceDataset] = {}

    def read_texts(self) -> dict[str, TextSplit]:
        """``{"train": ..., "val": ..., "test": ...}``; all pairs or all single texts."""
        raise NotImplementedError

    def check_files(self) -> None:
        """Raise a DataError naming what is missing (sets read from files)."""

    def prepare_data(self) -> None:
        self.check_files()

    @property
    def num_features(self) -> int:
        """The most tokens in one sample."""
        return self.max_seq_len

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            # a saved vocabulary needs no texts; one to build reads and encodes them all
            if self.vocab_path is not None:
                self._vocabulary = self._saved_vocabulary()
            else:
                self._prepare()
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def _tokenize(self, split: TextSplit) -> list[list[str] | tuple[list[str], list[str]]]:
        tokenize = TOKENIZERS[self.tokenizer]
        samples = []
        for text, source in zip(split.texts, split.sources, strict=True):
            sides = [text] if isinstance(text, str) else list(text)
            tokens = [tokenize(side) for side in sides]
            for name, side in zip(("text_a", "text_b"), tokens, strict=False):
                if not side:
                    where = f"{name} of {source}" if len(sides) == 2 else source
                    raise DataError(
                        f"{where} has no tokens under data.tokenizer={self.tokenizer} (it is "
                        f"empty, or markup and spaces only); remove the sample or fill it in"
                    )
            samples.append(tokens[0] if len(tokens) == 1 else tuple(tokens))
        return samples

    def _saved_vocabulary(self) -> Vocabulary:
        """The vocabulary at ``vocab_path``, checked against this set's tokeniser."""
        vocabulary = load_vocabulary(self.vocab_path)
        if vocabulary.tokenizer != self.tokenizer:
            raise ConfigError(
                f"data.vocab_path={self.vocab_path} was built with tokenizer="
                f"{vocabulary.tokenizer}, but data.tokenizer={self.tokenizer}; set "
                f"data.tokenizer={vocabulary.tokenizer}"
            )
        if (CLS in vocabulary.specials) != self.cls_token:
            saved, wanted = str(not self.cls_token).lower(), str(self.cls_token).lower()
            raise ConfigError(
                f"data.vocab_path={self.vocab_path} was saved by a run with data.cls_token="
                f"{saved}, but data.cls_token={wanted}; set data.cls_token={saved}"
            )
        return vocabulary

    def _vocabulary_for(self, train: list, paired: bool) -> Vocabulary:
        specials = CLS_SPECIALS if self.cls_token else PAIR_SPECIALS if paired else SPECIALS
        if self.vocab_path is None and self.vocab_file is not None:
            return read_vocab_file(self.vocab_file, specials, self.tokenizer, paired)
        if self.vocab_path is None:
            words = chain.from_iterable([s] if isinstance(s, list) else s for s in train)
            return build_vocabulary(
                words, specials, self.tokenizer, self.min_freq, self.max_size, paired
            )
        # loaded already if info() asked for the vocabulary size before setup
        vocabulary = self._vocabulary if self._vocabulary is not None else self._saved_vocabulary()
        if (vocabulary.specials, vocabulary.pairs) != (specials, paired):
            kinds = ["single texts", "sentence pairs"]
            raise DataError(
                f"data.vocab_path={self.vocab_path} was saved for {kinds[vocabulary.pairs]} with "
                f"the specials {list(vocabulary.specials)}, this data set has {kinds[paired]} "
                f"and needs {list(specials)}: it was saved for another kind of text set"
            )
        return vocabulary

    def _layout(self, sides: int) -> list[str]:
        """One encoded sample as pieces: its texts ``a`` (and ``b``) and the specials."""
        texts = ["a", "b"][:sides]
        if self.cls_token:  # [CLS] a [SEP] (b [SEP])
            return [CLS, *chain.from_iterable((text, SEP) for text in texts)]
        return [texts[0], *chain.from_iterable((SEP, text) for text in texts[1:])]  # a ([SEP] b)

    def _encode(self, sample: list[str] | tuple[list[str], list[str]]) -> list[int]:
        sides = [sample] if isinstance(sample, list) else list(sample)
        layout = self._layout(len(sides))
        budget = self.max_seq_len - (len(layout) - len(sides))  # the specials count too
        kept = [budget] if len(sides) == 1 else fit_pair(len(sides[0]), len(sides[1]), budget)
        vocabulary = self._vocabulary
        names = "ab"[: len(sides)]  # the pieces of _layout that are texts
        texts = {
            name: vocabulary.encode(side[:n])
            for name, side, n in zip(names, sides, kept, strict=True)
        }
        pieces = (texts[piece] if piece in texts else [vocabulary.id(piece)] for piece in layout)
        return list(chain.from_iterable(pieces))

    def _prepare(self) -> None:
        """Read, tokenise, build (or load) the vocabulary, encode and pad every split once."""
        texts = self.read_texts()
        tokenized = {split: self._tokenize(texts[split]) for split in SPLITS}
        paired = any(isinstance(sample, tuple) for sample in tokenized["train"])
        layout = self._layout(2 if paired else 1)
        if self.max_seq_len < len(layout):  # a token of each text and the specials
            kind = "a sentence pair" if paired else "a text"
            pieces = ", ".join("a token" if len(piece) == 1 else piece for piece in layout)
            raise ConfigError(
                f"data.max_seq_len={self.max_seq_len} cannot hold {kind} ({pieces}); set "
                f"data.max_seq_len={len(layout)} or more"
            )
        self._vocabulary = self._vocabulary_for(tokenized["train"], paired)
        for split in SPLITS:
            self._splits[split] = self._dataset(tokenized[split], texts[split].labels)

    def _dataset(self, tokenized: list, labels: list[int]) -> SequenceDataset:
        """Tokenised samples encoded with the vocabulary, truncated and padded; pairs in the
        BERT layout get segment ids in their batches."""
        vocabulary = self._vocabulary
        pad_id = vocabulary.id(PAD)
        sep_id = vocabulary.id(SEP) if self.cls_token and vocabulary.pairs else None
        ids = pad_sequences([self._encode(sample) for sample in tokenized], pad_id)
        return SequenceDataset(ids, torch.tensor(labels, dtype=torch.long), pad_id, sep_id)

    def encode_lines(self, path: str | Path, key: str = "text_file") -> TextLines:
        """The non-empty lines of the UTF-8 file ``path`` as samples to predict, tokenised,
        encoded (a word outside the vocabulary is ``[UNK]``) and truncated to
        ``max_seq_len`` as the training texts were. With a vocabulary of sentence pairs
        each line is ``text_a <TAB> text_b``. ``key`` is the setting that named the file."""
        numbers, lines = read_text_lines(path, key)
        sources = [f"{path}:{number}" for number in numbers]
        vocabulary = self.vocabulary  # the saved one, if vocab_path names it: no texts read
        texts: list[Text] = list(lines)
        if vocabulary.pairs:  # a run on sentence pairs
            texts = list(map(self._pair_line, lines, sources))
        samples = self._tokenize(TextSplit(texts, [-1] * len(texts), sources))
        return TextLines(numbers, lines, self._dataset(samples, [-1] * len(samples)))

    @staticmethod
    def _pair_line(line: str, source: str) -> tuple[str, str]:
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(
                f"{source} has {len(fields)} tab-separated columns; the run was trained on "
                f"sentence pairs, so each line must be text_a <TAB> text_b"
            )
        return fields[0], fields[1]

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if not self._splits:
            self._prepare()  # reads and encodes the texts once, the first time
        vocabulary = self.vocabulary
        self.train_set, self.val_set, self.test_set = (self._splits[s] for s in SPLITS)
        if self.save_vocab is not None and (self.trainer is None or self.trainer.is_global_zero):
            save_vocabulary(self.save_vocab, vocabulary)
