"""The input type of every sequence set, and the padding that builds it with tensor ops.

A sequence split lives in one padded ``(N, L)`` tensor of token ids (``L`` the longest
sample of the split, each row padded with ``pad_id`` after its tokens), held by a
:class:`SequenceDataset`. A batch is one gather of its rows, cut to the longest sample
in the batch, with the lengths and the mask alongside; the DataLoader yields
``(SequenceBatch, labels)``, so a task passes ``x = SequenceBatch(ids, lengths, mask)``
to ``net(x)`` whole. A NamedTuple of tensors: Lightning moves it to the device and the
DataLoader pins it like a tuple, field by field. ``len(x)`` is 3 (its fields), not the
batch size: that is ``len(x.ids)`` or ``len(labels)``.
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


class CutToLongest:
    """Padded ``(B, L)`` ids → a :class:`SequenceBatch` cut to the batch's longest sample.

    The lengths are the ids that are not ``pad_id`` (padding only ever follows the
    tokens, and no token of a text is encoded as the pad id); ``pad_id=None`` says the
    set has no padding, every row is one whole sequence (digit_sum, where id 0 is the
    digit 0)."""

    def __init__(self, pad_id: int | None) -> None:
        self.pad_id = pad_id

    def __call__(self, padded: Tensor) -> SequenceBatch:
        count, width = padded.shape
        if self.pad_id is None:
            lengths = torch.full((count,), width, dtype=torch.long)
        else:
            lengths = (padded != self.pad_id).sum(dim=1)
            width = int(lengths.max()) if count else 0
        ids = padded[:, :width].long()
        mask = torch.arange(width) < lengths.unsqueeze(1)
        return SequenceBatch(ids, lengths, mask)


class SequenceDataset(TensorBatchDataset):
    """A split of token sequences: padded ids ``(N, L)`` and labels ``(N,)``; a batch is a
    ``(SequenceBatch, labels)`` pair (see :class:`CutToLongest`)."""

    def __init__(self, ids: Tensor, targets: Tensor, pad_id: int | None) -> None:
        super().__init__(ids, targets, CutToLongest(pad_id))

    def __getitem__(self, index: int) -> tuple[SequenceBatch, Tensor]:
        one = self.transform(self.inputs[index : index + 1])
        return SequenceBatch(*(field[0] for field in one)), self.targets[index]


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int) -> Tensor:
    """Lists of token ids → an int32 ``(N, longest)`` tensor, each row padded with
    ``pad_id`` after its ids (one scatter of all ids through a mask, no loop per row)."""
    lengths = torch.tensor([len(ids) for ids in sequences], dtype=torch.long)
    width = int(lengths.max()) if len(lengths) else 0
    padded = torch.full((len(sequences), width), pad_id, dtype=torch.int32)
    flat = torch.tensor(list(chain.from_iterable(sequences)), dtype=torch.int32)
    padded[torch.arange(width) < lengths.unsqueeze(1)] = flat  # row-major: row by row
    return padded
