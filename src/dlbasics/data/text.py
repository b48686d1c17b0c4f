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

The vocabulary lists its tokens in id order: the specials first (``[PAD]`` = 0,
``[UNK]`` = 1, and ``[SEP]`` = 2 for sentence pairs), then the training tokens seen at
least ``min_freq`` times, most frequent first, ties in code-point order of the token,
cut at ``max_size`` ids in all. A token outside it, or one spelled like a special,
encodes as ``[UNK]``. ``save_vocab`` writes it as JSON (the tokens in id order, the
specials and the tokeniser) when the DataModule is set up; ``vocab_path`` reuses such a
file instead of building one, which is how a later evaluation gets exactly the same ids.
A saved vocabulary is read on its own, without the texts, so ``encode_lines`` (raw lines
to predict) needs only the run's vocab.json, not its training data.
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
from dlbasics.utils.checks import require_choice, require_integer, require_positive_integer

PAD, UNK, SEP = "[PAD]", "[UNK]", "[SEP]"
SPECIALS = (PAD, UNK)
PAIR_SPECIALS = (PAD, UNK, SEP)
SPLITS = ("train", "val", "test")

_HTML_TAG = re.compile(r"</?[a-z][^<>]*>")  # after lower()
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:'[^\W{_CJK}]+)*|[^\w\s]")


def regex_tokens(text: str) -> list[str]:
    return _TOKEN.findall(_HTML_TAG.sub(" ", text.lower()))


def whitespace_tokens(text: str) -> list[str]:
    return text.split()


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "regex": regex_tokens,
    "whitespace": whitespace_tokens,
}


class Vocabulary:
    """Tokens in id order, the specials first; ``encode`` maps tokens to ids."""

    def __init__(self, tokens: Sequence[str], specials: Sequence[str], tokenizer: str) -> None:
        self.tokens = list(tokens)
        self.specials = tuple(specials)
        self.tokenizer = tokenizer
        # specials are not spelled by any text: "[PAD]" in a text is an unknown token
        self.index = {token: i for i, token in enumerate(self.tokens) if i >= len(self.specials)}
        self.unk_id = self.tokens.index(UNK)

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, special: str) -> int:
        return self.tokens.index(special)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self.index.get(token, self.unk_id) for token in tokens]


def build_vocabulary(
    token_lists: Iterable[Sequence[str]],
    specials: Sequence[str],
    tokenizer: str,
    min_freq: int,
    max_size: int | None,
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
    return Vocabulary([*specials, *kept], specials, tokenizer)


def save_vocabulary(path: str | Path, vocabulary: Vocabulary) -> Path:
    """Write ``vocabulary`` as JSON at ``path`` (through a temporary file, so a reader never
    sees half a file); the folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "tokenizer": vocabulary.tokenizer,
        "specials": list(vocabulary.specials),
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
    well_formed = (
        isinstance(tokens, list)
        and isinstance(specials, list)
        and all(isinstance(t, str) for t in tokens)
        and len(set(tokens)) == len(tokens)
        and tokens[: len(specials)] == specials
        and specials[:2] == list(SPECIALS)
        and len(tokens) > len(specials)
        and tokenizer in TOKENIZERS
    )
    if not well_formed:
        raise DataError(
            f"{path} is no vocabulary file: it needs 'tokens' (distinct strings in id order, "
            f"the specials {list(SPECIALS)} first), 'specials' and 'tokenizer' (one of "
            f"{', '.join(TOKENIZERS)}); point data.vocab_path at the vocab.json a run wrote"
        )
    return Vocabulary(tokens, specials, tokenizer)


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
    sentence pair is encoded ``a [SEP] b`` as one sequence (the longer side cut first
    when the pair exceeds ``max_seq_len``), so a pair set gives the same batches as a
    single-text one; a net finds the two sides at the ``[SEP]`` id (2).
    """

    def __init__(
        self,
        tokenizer: str = "regex",
        min_freq: int = 1,
        max_size: int | None = None,
        max_seq_len: int = 256,
        vocab_path: str | None = None,
        save_vocab: str | None = None,
        **loader_kwargs: Any,
    ) -> None:
        super().__init__(**loader_kwargs)
        self.tokenizer = require_choice("data.tokenizer", tokenizer, TOKENIZERS)
        self.min_freq = require_positive_integer("data.min_freq", min_freq)
        if max_size is not None:
            require_integer("data.max_size", max_size, minimum=len(PAIR_SPECIALS) + 1)
        self.max_size = max_size
        self.max_seq_len = require_positive_integer("data.max_seq_len", max_seq_len)
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
        return vocabulary

    def _vocabulary_for(self, train: list, specials: tuple[str, ...]) -> Vocabulary:
        if self.vocab_path is None:
            words = chain.from_iterable([s] if isinstance(s, list) else s for s in train)
            return build_vocabulary(words, specials, self.tokenizer, self.min_freq, self.max_size)
        # loaded already if info() asked for the vocabulary size before setup
        vocabulary = self._vocabulary if self._vocabulary is not None else self._saved_vocabulary()
        if vocabulary.specials != specials:
            raise DataError(
                f"data.vocab_path={self.vocab_path} has the specials {list(vocabulary.specials)}, "
                f"this data set needs {list(specials)}: it was saved for another kind of text set"
            )
        return vocabulary

    def _encode(self, sample: list[str] | tuple[list[str], list[str]]) -> list[int]:
        if isinstance(sample, list):
            return self._vocabulary.encode(sample[: self.max_seq_len])
        first, second = sample
        keep_first, keep_second = fit_pair(len(first), len(second), self.max_seq_len - 1)
        sep = [self._vocabulary.id(SEP)]
        encode = self._vocabulary.encode
        return [*encode(first[:keep_first]), *sep, *encode(second[:keep_second])]

    def _prepare(self) -> None:
        """Read, tokenise, build (or load) the vocabulary, encode and pad every split once."""
        texts = self.read_texts()
        tokenized = {split: self._tokenize(texts[split]) for split in SPLITS}
        paired = any(isinstance(sample, tuple) for sample in tokenized["train"])
        if paired and self.max_seq_len < 3:
            raise ConfigError(
                f"data.max_seq_len={self.max_seq_len} cannot hold a sentence pair "
                f"(a token, [SEP], a token); set data.max_seq_len=3 or more"
            )
        specials = PAIR_SPECIALS if paired else SPECIALS
        self._vocabulary = self._vocabulary_for(tokenized["train"], specials)
        for split in SPLITS:
            self._splits[split] = self._dataset(tokenized[split], texts[split].labels)

    def _dataset(self, tokenized: list, labels: list[int]) -> SequenceDataset:
        """Tokenised samples encoded with the vocabulary, truncated and padded."""
        pad_id = self._vocabulary.id(PAD)
        ids = pad_sequences([self._encode(sample) for sample in tokenized], pad_id)
        return SequenceDataset(ids, torch.tensor(labels, dtype=torch.long), pad_id)

    def encode_lines(self, path: str | Path, key: str = "text_file") -> TextLines:
        """The non-empty lines of the UTF-8 file ``path`` as samples to predict, tokenised,
        encoded (a word outside the vocabulary is ``[UNK]``) and truncated to
        ``max_seq_len`` as the training texts were. With a vocabulary of sentence pairs
        each line is ``text_a <TAB> text_b``. ``key`` is the setting that named the file."""
        numbers, lines = read_text_lines(path, key)
        sources = [f"{path}:{number}" for number in numbers]
        vocabulary = self.vocabulary  # the saved one, if vocab_path names it: no texts read
        texts: list[Text] = list(lines)
        if SEP in vocabulary.specials:  # a run on sentence pairs
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
