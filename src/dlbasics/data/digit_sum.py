"""NNDL 6.1's digit-sum task: the label of a digit sequence is the sum of its first two digits.

For every pair ``(n1, n2)`` of digits 0-9 the base sequence is ``[n1, n2, 0, ..., 0]``
(``seq_len`` digits) with label ``n1 + n2`` (19 classes, 0-18). A split holds
``copies`` copies of every base sequence of its pairs, pair after pair as the book
writes them; in each copy one position drawn uniformly from ``2..seq_len-1`` (0-based,
never one of the first two) is set to a digit drawn uniformly from 0-9 (0 included,
so a copy may equal its base). The distractor changes the sequence, never the label:
the net has to carry the first two digits over ``seq_len - 2`` steps.

With ``disjoint_pairs=false`` (the book) every split is drawn from all 100 pairs, so
validation and test sequences share their first two digits (and label) with training
ones: the task measures memory over distance, not generalisation to unseen pairs.
``disjoint_pairs=true`` splits the 100 pairs (seeded) into ``100 - val_pairs - test_pairs``
training, ``val_pairs`` validation and ``test_pairs`` test pairs, so no validation or
test pair occurs in training (a sum only one held-out pair makes, like 0 = 0 + 0,
then never occurs in training at all).

The tokens are the digits themselves (ids 0-9, ``vocab_size`` 10, no padding: every
sequence has ``seq_len`` tokens), as a :class:`~dlbasics.data.sequences.SequenceBatch`
like the text sets give.
"""

import torch
from torch import Tensor

from dlbasics.data.base import InMemoryDataModule, split_indices
from dlbasics.data.sequences import SequenceDataset
from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_flag, require_integer, require_positive_integer

DIGITS = 10
PAIRS = DIGITS * DIGITS


def all_pairs() -> Tensor:
    """``(100, 2)``: every ``(n1, n2)``, n1 major, as the book's double loop."""
    digits = torch.arange(DIGITS)
    return torch.cartesian_prod(digits, digits)


def digit_sequences(
    pairs: Tensor, copies: int, seq_len: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """``copies`` noisy copies of the base sequence of every pair: ids ``(P*copies, seq_len)``
    and labels ``(P*copies,)``, the copies of one pair next to each other."""
    firsts = pairs.repeat_interleave(copies, dim=0)
    count = len(firsts)
    ids = torch.zeros((count, seq_len), dtype=torch.long)
    ids[:, :2] = firsts
    position = torch.randint(2, seq_len, (count,), generator=generator)
    digit = torch.randint(0, DIGITS, (count,), generator=generator)
    ids[torch.arange(count), position] = digit
    return ids, firsts.sum(dim=1)


class DigitSumDataModule(InMemoryDataModule):
    """Digit sequences of length ``seq_len``, labelled by the sum of their first two digits;
    ``*_copies`` copies of every base sequence per split, drawn from ``seed``."""

    num_classes = 2 * (DIGITS - 1) + 1
    class_names = [str(total) for total in range(2 * (DIGITS - 1) + 1)]
    vocab_size = DIGITS

    def __init__(
        self,
        seq_len: int = 10,
        train_copies: int = 3,
        val_copies: int = 1,
        test_copies: int = 1,
        disjoint_pairs: bool = False,
        val_pairs: int = 10,
        test_pairs: int = 10,
        seed: int = 0,
        **loader_kwargs,
    ) -> None:
        super().__init__(**loader_kwargs)
        if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 3:
            raise ConfigError(
                f"data.seq_len must be an integer >= 3 (two summed digits and at least one "
                f"position for the distractor), got {seq_len!r}; set data.seq_len=3 or more"
            )
        self.seq_len = seq_len
        self.copies = []
        for key, value in (("train", train_copies), ("val", val_copies), ("test", test_copies)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(
                    f"data.{key}_copies must be a positive integer (copies of every base "
                    f"sequence in the split), got {value!r}; set data.{key}_copies=1 or more"
                )
            self.copies.append(value)
        require_flag("data.disjoint_pairs", disjoint_pairs)
        self.disjoint_pairs = disjoint_pairs
        self.pair_counts = [
            require_positive_integer("data.val_pairs", val_pairs),
            require_positive_integer("data.test_pairs", test_pairs),
        ]
        if sum(self.pair_counts) >= PAIRS:
            raise ConfigError(
                f"data.val_pairs + data.test_pairs = {sum(self.pair_counts)} leave no training "
                f"pair of the {PAIRS}; lower them"
            )
        self.seed = require_integer("data.seed", seed, minimum=0)

    @property
    def num_features(self) -> int:
        """Tokens in one sample."""
        return self.seq_len

    def split_pairs(self) -> list[Tensor]:
        """The pairs of the train, validation and test split."""
        pairs = all_pairs()
        if not self.disjoint_pairs:
            return [pairs, pairs, pairs]
        sizes = [PAIRS - sum(self.pair_counts), *self.pair_counts]
        return [pairs[part.sort().values] for part in split_indices(PAIRS, sizes, self.seed)]

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        generator = torch.Generator().manual_seed(self.seed)
        splits = [
            SequenceDataset(*digit_sequences(pairs, copies, self.seq_len, generator), pad_id=None)
            for pairs, copies in zip(self.split_pairs(), self.copies, strict=True)
        ]
        self.train_set, self.val_set, self.test_set = splits
