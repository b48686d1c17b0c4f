"""The input type of every sequence set, and the padding that builds it with tensor ops.

A sequence split lives in one padded ``(N, L)`` tensor of token ids (``L`` the longest
sample of the split, each row padded with ``pad_id`` after its tokens), held by a
:class:`SequenceDataset`. A batch is one gather of its rows, cut to the longest sample
in the batch, with the lengths and the mask alongside; the DataLoader yields
``(SequenceBatch, labels)``, so a task passes ``x = SequenceBatch(ids, lengths, mask)``
to ``net(x)`` whole. A NamedTuple of tensors: Lightning moves it to the device and the
DataLoader pins it like a tuple, field by field (a ``None`` field stays ``None``).
``len(x)`` is 4 (its fields), not the batch size: that is ``len(x.ids)`` or ``len(labels)``.

Sentence pairs in the BERT layout ``[CLS] a [SEP] b [SEP]`` carry segment ids as a
fourth field, ``segments``: 0 up to and including the first ``[SEP]``, 1 after it, 0 on
the padding. Every other set leaves it ``None``, so a net that reads ``x[:3]`` (ids,
lengths, mask) works on both.
"""

from collections.abc import Sequence
from itertools import chain
from typing import NamedTuple

import torch
from torch import Tensor

from dlbasics.data.base import TensorBatchDataset


class SequenceBatch(NamedTuple):
    """A batch of token sequences, padded to its longest one."""

    ids: Tensor  # (B, T) long token ids; positions at or past a sample's length hold the pad id
    lengths: Tensor  # (B,) long: tokens of each sample, 1..T (T = lengths.max())
    mask: Tensor  # (B, T) bool: True on the tokens, False on the padding
    segments: Tensor | None = None  # (B, T) long: 0 for "[CLS] a [SEP]", 1 for "b [SEP]", 0 on
    # the padding; None for single texts and the "a [SEP] b" layout


def batch_rows(batch: SequenceBatch, rows: slice | int) -> SequenceBatch:
    """The rows ``rows`` of every field of ``batch`` (a ``None`` field stays ``None``)."""
    return SequenceBatch(*(None if field is None else field[rows] for field in batch))


def segment_ids(ids: Tensor, mask: Tensor, sep_id: int) -> Tensor:
    """``(B, T)`` segment ids of ``[CLS] a [SEP] b [SEP]`` rows: a token is in segment 1 when
    a ``[SEP]`` comes before it, so the first ``[SEP]`` closes segment 0; padding is 0. One
    cumulative sum over the batch, no loop per row (no text token encodes as ``[SEP]``)."""
    is_sep = ids == sep_id
    seps_before = is_sep.cumsum(dim=1) - is_sep.long()
    return ((seps_before > 0) & mask).long()


class CutToLongest:
    """Padded ``(B, L)`` ids → a :class:`SequenceBatch` cut to the batch's longest sample.

    The lengths are the ids that are not ``pad_id`` (padding only ever follows the
    tokens, and no token of a text is encoded as the pad id); ``pad_id=None`` says the
    set has no padding, every row is one whole sequence (digit_sum, where id 0 is the
    digit 0). ``sep_id`` set: the rows are ``[CLS] a [SEP] b [SEP]`` pairs, and the batch
    carries their segment ids (:func:`segment_ids`)."""

    def __init__(self, pad_id: int | None, sep_id: int | None = None) -> None:
        self.pad_id = pad_id
        self.sep_id = sep_id

    def __call__(self, padded: Tensor) -> SequenceBatch:
        count, width = padded.shape
        if self.pad_id is None:
            lengths = torch.full((count,), width, dtype=torch.long, device=padded.device)
        else:
            lengths = (padded != self.pad_id).sum(dim=1)
            width = int(lengths.max()) if count else 0
        ids = padded[:, :width].long()
        mask = torch.arange(width, device=padded.device) < lengths.unsqueeze(1)
        segments = None if self.sep_id is None else segment_ids(ids, mask, self.sep_id)
        return SequenceBatch(ids, lengths, mask, segments)


class SequenceDataset(TensorBatchDataset):
    """A split of token sequences: padded ids ``(N, L)`` and labels ``(N,)``; a batch is a
    ``(SequenceBatch, labels)`` pair (see :class:`CutToLongest`; ``sep_id`` for sentence
    pairs with segment ids)."""

    def __init__(
        self, ids: Tensor, targets: Tensor, pad_id: int | None, sep_id: int | None = None
    ) -> None:
        super().__init__(ids, targets, CutToLongest(pad_id, sep_id))

    def __getitem__(self, index: int) -> tuple[SequenceBatch, Tensor]:
        one = self.transform(self.inputs[index : index + 1])
        return batch_rows(one, 0), self.targets[index]


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int) -> Tensor:
    """Lists of token ids → an int32 ``(N, longest)`` tensor, each row padded with
    ``pad_id`` after its ids (one scatter of all ids through a mask, no loop per row)."""
    lengths = torch.tensor([len(ids) for ids in sequences], dtype=torch.long)
    width = int(lengths.max()) if len(lengths) else 0
    padded = torch.full((len(sequences), width), pad_id, dtype=torch.int32)
    flat = torch.tensor(list(chain.from_iterable(sequences)), dtype=torch.int32)
    padded[torch.arange(width) < lengths.unsqueeze(1)] = flat  # row-major: row by row
    return padded
