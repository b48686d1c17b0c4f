"""Key–value retrieval: the value stored under a queried key (offline, seeded).

A sample is ``num_pairs`` key–value pairs followed by a query mark and one of the keys::

    k3 v7 k1 v2 k5 v9 ? k1        → label 2 (the value stored under k1 is v2)

Keys and values are drawn without replacement (from ``num_keys`` and ``num_values``), so
each appears once among the pairs; the queried pair is drawn uniformly among the stored
ones, and the label is its value's number (``num_values`` classes, ``v0`` … ).

The answer is the value that sits right after the queried key. A bag of the sample's
tokens says which keys and which values were stored, and which key is asked (it occurs
twice), but not which value was paired with which key: every pairing gives the same bag
and is equally likely, so a mean of the token embeddings is at exactly ``1 / num_pairs``
whatever it learns. An encoder whose query position can attend to the matching key's
neighbour can be right every time: the task on which attention has to earn its place.
"""

import random
from typing import Any

from dlbasics.data.generated_text import GeneratedTextDataModule
from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_positive_integer

QUERY = "?"


def kv_sample(
    num_pairs: int, num_keys: int, num_values: int, rng: random.Random
) -> tuple[str, int]:
    """One sample's text and label."""
    keys = rng.sample(range(num_keys), num_pairs)
    values = rng.sample(range(num_values), num_pairs)
    asked = rng.randrange(num_pairs)
    pairs = " ".join(f"k{key} v{value}" for key, value in zip(keys, values, strict=True))
    return f"{pairs} {QUERY} k{keys[asked]}", values[asked]


class KeyValueRetrievalDataModule(GeneratedTextDataModule):
    """``num_train``/``num_val``/``num_test`` samples of the task above from ``seed``,
    tokenised and encoded like every text set (whitespace tokens)."""

    def __init__(
        self,
        num_pairs: int = 4,
        num_keys: int = 16,
        num_values: int = 8,
        num_train: int = 8000,
        num_val: int = 1000,
        num_test: int = 1000,
        seed: int = 0,
        **text_kwargs: Any,
    ) -> None:
        super().__init__(num_train, num_val, num_test, seed, **text_kwargs)
        self.num_pairs = require_positive_integer("data.num_pairs", num_pairs)
        self.num_keys = require_positive_integer("data.num_keys", num_keys)
        self.num_values = require_positive_integer("data.num_values", num_values)
        for key, count in (("num_keys", num_keys), ("num_values", num_values)):
            if num_pairs > count:
                raise ConfigError(
                    f"data.num_pairs={num_pairs} exceeds data.{key}={count}: each key and value "
                    f"is stored once per sample; raise data.{key} or lower data.num_pairs"
                )
        if 2 * num_pairs + 2 > self.max_seq_len:
            raise ConfigError(
                f"data.max_seq_len={self.max_seq_len} would cut the samples ({2 * num_pairs + 2} "
                f"tokens: the pairs, the query mark and the key); raise data.max_seq_len"
            )
        self.num_classes = self.num_values
        self.class_names = [f"v{value}" for value in range(self.num_values)]

    def draw(self, size: int, rng: random.Random) -> tuple[list[str], list[int]]:
        samples = [
            kv_sample(self.num_pairs, self.num_keys, self.num_values, rng) for _ in range(size)
        ]
        texts, labels = zip(*samples, strict=True)
        return list(texts), list(labels)
