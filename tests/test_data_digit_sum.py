"""data=digit_sum: the NNDL generator exactly, its sizes, seeds, disjoint pairs and bad values."""

import pytest
import torch

from dlbasics.data import DigitSumDataModule, SequenceBatch
from dlbasics.errors import ConfigError


def ready(**kwargs) -> DigitSumDataModule:
    data = DigitSumDataModule(**kwargs)
    data.setup()
    return data


def splits(data: DigitSumDataModule):
    return [(s.inputs, s.targets) for s in (data.train_set, data.val_set, data.test_set)]


def test_sizes_info_and_batches() -> None:
    data = ready(batch_size=8)
    assert [len(ids) for ids, _ in splits(data)] == [300, 100, 100]
    assert data.info() == {
        "num_features": 10,
        "num_classes": 19,
        "class_names": [str(k) for k in range(19)],
        "input_shape": None,
        "vocab_size": 10,
    }
    x, y = next(iter(data.train_dataloader()))
    assert isinstance(x, SequenceBatch) and x.ids.dtype == torch.long
    assert x.ids.shape == (8, 10) and y.dtype == torch.long
    assert x.lengths.tolist() == [10] * 8 and bool(x.mask.all())


@pytest.mark.parametrize("seq_len", [3, 10, 25])
def test_each_copy_changes_one_position_after_the_first_two(seq_len: int) -> None:
    data = ready(seq_len=seq_len, train_copies=5)
    for (ids, labels), copies in zip(splits(data), (5, 1, 1), strict=True):
        assert ids.shape == (100 * copies, seq_len)
        # pair after pair, each base sequence's copies next to each other, n1 major
        pairs = torch.cartesian_prod(torch.arange(10), torch.arange(10))
        assert torch.equal(ids[:, :2], pairs.repeat_interleave(copies, dim=0))
        assert torch.equal(labels, ids[:, 0] + ids[:, 1])
        tail = ids[:, 2:]
        # at most one non-zero digit after the first two (the changed one may be set to 0)
        assert int((tail != 0).sum(dim=1).max()) <= 1
        assert int(tail.min()) >= 0 and int(tail.max()) <= 9
    # the changed position is uniform over 2..seq_len-1 and every digit 1..9 occurs there
    ids, _ = splits(ready(seq_len=seq_len, train_copies=40))[0]
    changed = (ids[:, 2:] != 0).nonzero()[:, 1] + 2
    assert set(changed.tolist()) == set(range(2, seq_len))
    assert set(ids[:, 2:].flatten().tolist()) == set(range(10))
    share_zero = 1 - (ids[:, 2:] != 0).any(dim=1).float().mean()
    assert abs(float(share_zero) - 0.1) < 0.03  # the drawn digit is 0 one time in ten


def test_the_data_seed_alone_fixes_the_data() -> None:
    torch.manual_seed(1)
    first = splits(ready(seed=3))
    torch.manual_seed(2)
    again = splits(ready(seed=3))
    other = splits(ready(seed=4))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0][0], other[0][0])


def test_disjoint_pairs_never_share_a_pair() -> None:
    data = ready(disjoint_pairs=True, val_pairs=12, test_pairs=8)
    pair_sets = [{tuple(p) for p in ids[:, :2].tolist()} for ids, _ in splits(data)]
    assert [len(p) for p in pair_sets] == [80, 12, 8]
    assert [len(ids) for ids, _ in splits(data)] == [240, 12, 8]
    train, val, test = pair_sets
    assert not train & val and not train & test and not val & test
    assert len(train | val | test) == 100
    other = ready(disjoint_pairs=True, val_pairs=12, test_pairs=8, seed=1)
    assert {tuple(p) for p in other.val_set.inputs[:, :2].tolist()} != val
    shared = [{tuple(p) for p in ids[:, :2].tolist()} for ids, _ in splits(ready())]
    assert shared[0] == shared[1] == shared[2]  # the book's variant: all 100 pairs everywhere


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seq_len": 2}, r"data.seq_len must be an integer >= 3.*got 2; set data.seq_len=3"),
        ({"train_copies": 0}, r"data.train_copies must be a positive integer.*got 0"),
        ({"test_copies": 0}, r"data.test_copies must be a positive integer.*got 0"),
        ({"val_pairs": 50, "test_pairs": 50}, r"data.val_pairs \+ data.test_pairs = 100"),
    ],
)
def test_bad_values_name_the_key(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        DigitSumDataModule(**kwargs)
