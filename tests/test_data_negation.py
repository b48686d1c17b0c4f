"""data=negation_reviews: every review follows the grammar and the negation rule (written here
again, independently), and the words alone cannot tell the label of a negated review."""

from collections import Counter

import pytest

from dlbasics.data import NegationReviewsDataModule, SequenceBatch
from dlbasics.errors import ConfigError

GOOD = {"good", "great", "fun", "brilliant", "moving"}
BAD = {"bad", "boring", "dull", "awful", "weak"}
NOUNS = {"movie", "film", "plot", "acting", "story", "cast", "ending"}


def clauses(words: list[str]) -> list[list[str]]:
    parts, current = [], []
    for word in words:
        if word == ",":
            parts.append(current)
            current = []
        else:
            current.append(word)
    return [*parts, current]


def grammatical(words: list[str]) -> bool:
    """clause (, clause)?; clause = [the NOUN was] [not] ADJ."""
    parts = clauses(words)
    for part in parts:
        body = part[3:] if part[:1] == ["the"] else part
        if part[:1] == ["the"] and (len(part) < 4 or part[1] not in NOUNS or part[2] != "was"):
            return False
        if body not in ([a] for a in GOOD | BAD) and body not in (["not", a] for a in GOOD | BAD):
            return False
    return len(parts) in (1, 2)


def rule(words: list[str]) -> int | None:
    """1 positive, 0 negative: a clause's adjective polarity, flipped by its not; None if
    the clauses disagree."""
    values = {(part[-1] in GOOD) != ("not" in part) for part in clauses(words)}
    return int(values.pop()) if len(values) == 1 else None


def reviews(data: NegationReviewsDataModule, split: str) -> list[tuple[list[str], int]]:
    dataset = getattr(data, f"{split}_set")
    x, y = dataset.__getitems__(list(range(len(dataset))))
    tokens = data.vocabulary.tokens
    rows = [[tokens[i] for i in row[:n]] for row, n in zip(x.ids.tolist(), x.lengths, strict=True)]
    return list(zip(rows, y.tolist(), strict=True))


@pytest.fixture(scope="module")
def data() -> NegationReviewsDataModule:
    generated = NegationReviewsDataModule(num_train=6000, num_val=300, num_test=200, seed=5)
    generated.setup()
    return generated


def test_sizes_info_and_seed(data) -> None:
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [6000, 300, 200]
    assert (
        data.info()["class_names"] == ["neg", "pos"] and data.info()["vocab_size"] == 2 + 4 + 10 + 7
    )  # the, was, ",", not
    x, _ = data.train_set.__getitems__([0, 1])
    assert isinstance(x, SequenceBatch)
    first, again = (NegationReviewsDataModule(seed=1) for _ in range(2))
    first.setup(), again.setup()
    assert reviews(first, "train") == reviews(again, "train")
    other = NegationReviewsDataModule(seed=2)
    other.setup()
    assert reviews(other, "train") != reviews(first, "train")


def test_every_review_follows_the_grammar_and_the_rule(data) -> None:
    every = [r for split in ("train", "val", "test") for r in reviews(data, split)]
    assert all(grammatical(words) for words, _ in every)
    assert all(rule(words) == label for words, label in every)
    negated = [(w, y) for w, y in every if "not" in w]
    assert abs(len(negated) / len(every) - 0.5) < 0.03  # negated_share
    assert all(w.count("not") == 1 and len(clauses(w)) == 2 for w, _ in negated)
    assert abs(sum(y for _, y in every) / len(every) - 0.5) < 0.03
    plain = NegationReviewsDataModule(negated_share=0.0, num_train=200)
    plain.setup()
    assert not any("not" in words for words, _ in reviews(plain, "train"))


def test_the_words_of_a_negated_review_do_not_tell_its_label(data) -> None:
    negated = [(w, y) for w, y in reviews(data, "train") if "not" in w]
    for words, label in negated:  # its mirror: the two adjectives swapped
        first, second = (i for i, word in enumerate(words) if word in GOOD | BAD)
        mirror = list(words)
        mirror[first], mirror[second] = words[second], words[first]
        assert Counter(mirror) == Counter(words) and grammatical(mirror)
        assert rule(mirror) == 1 - label
    # the best any bag-of-words rule can do, grouped by the adjective pair: about chance
    votes: dict[frozenset, Counter] = {}
    for words, label in negated:
        adjectives = frozenset(word for word in words if word in GOOD | BAD)
        votes.setdefault(adjectives, Counter())[label] += 1
    best = sum(max(counts.values()) for counts in votes.values()) / len(negated)
    assert len(votes) == 25 and best < 0.57
    # plain reviews are told by their words: an adjective's polarity is the label
    plain = [(w, y) for w, y in reviews(data, "train") if "not" not in w]
    assert all((w[-1] in GOOD) == bool(y) for w, y in plain)


def test_a_bad_share_is_named() -> None:
    with pytest.raises(ConfigError, match=r"data.negated_share must be a fraction in \[0, 1\]"):
        NegationReviewsDataModule(negated_share=1.5)
