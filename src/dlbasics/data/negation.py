"""Generated movie reviews whose label depends on what a ``not`` applies to (offline, seeded).

The grammar (words separated by spaces)::

    review := clause | clause , clause
    clause := the SUBJECT was [not] ADJECTIVE | [not] ADJECTIVE

A clause's polarity is its adjective's (``POSITIVE`` or ``NEGATIVE``), flipped by a
``not``, which applies to the adjective right after it and to nothing else; every
clause of a review has the same polarity, and that is the label (0 ``neg``, 1 ``pos``).
A review is, with probability ``negated_share``, a *negated* one: two clauses, one of
them (either, with equal odds) negated, its adjective of the opposite polarity to the
other's, as in ``good , not bad`` (pos) or ``the plot was not good , the cast was dull``
(neg); otherwise a *plain* one: one or two clauses (equal odds), no ``not``, every
adjective of the label's polarity (``the movie was good``). Subjects, adjectives within
their polarity and the form of each clause are drawn uniformly and independently.

Swapping the two adjectives of a negated review gives another review of the grammar,
exactly as likely, with the same words and the opposite label (``good , not bad`` and
``bad , not good``): a bag-of-words model is at chance (1/2) on the negated reviews,
whatever it learns, and can reach ``1 - negated_share / 2`` overall; a model that reads
the order, which adjective follows the ``not``, can get every review right.
"""

import random
from typing import Any

from dlbasics.data.generated_text import GeneratedTextDataModule
from dlbasics.errors import ConfigError

POSITIVE = ("good", "great", "fun", "brilliant", "moving")
NEGATIVE = ("bad", "boring", "dull", "awful", "weak")
SUBJECTS = ("movie", "film", "plot", "acting", "story", "cast", "ending")
CLASSES = ("neg", "pos")


def clause(adjective: str, negated: bool, rng: random.Random) -> str:
    words = ["not", adjective] if negated else [adjective]
    if rng.random() < 0.5:  # the full form; else the elliptic one
        words = ["the", rng.choice(SUBJECTS), "was", *words]
    return " ".join(words)


def review(label: int, negated: bool, rng: random.Random) -> str:
    """One review of ``label`` (1 positive), a negated one or a plain one."""
    same, opposite = (POSITIVE, NEGATIVE) if label == 1 else (NEGATIVE, POSITIVE)
    if negated:
        plain = clause(rng.choice(same), False, rng)
        flipped = clause(rng.choice(opposite), True, rng)
        clauses = [flipped, plain] if rng.random() < 0.5 else [plain, flipped]
    else:
        clauses = [clause(rng.choice(same), False, rng) for _ in range(rng.choice((1, 2)))]
    return " , ".join(clauses)


class NegationReviewsDataModule(GeneratedTextDataModule):
    """``num_train``/``num_val``/``num_test`` reviews of the grammar above, drawn from
    ``seed``, labels balanced in expectation; tokenised and encoded like every text set."""

    num_classes = len(CLASSES)
    class_names = list(CLASSES)
    sample_name = "review"

    def __init__(
        self,
        num_train: int = 2000,
        num_val: int = 500,
        num_test: int = 500,
        negated_share: float = 0.5,
        seed: int = 0,
        **text_kwargs: Any,
    ) -> None:
        super().__init__(num_train, num_val, num_test, seed, **text_kwargs)
        share = negated_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ConfigError(
                f"data.negated_share must be a fraction in [0, 1] (the share of reviews with "
                f"a negation), got {negated_share!r}"
            )
        self.negated_share = float(share)

    def draw(self, size: int, rng: random.Random) -> tuple[list[str], list[int]]:
        labels = [rng.randrange(2) for _ in range(size)]
        return [review(y, rng.random() < self.negated_share, rng) for y in labels], labels
