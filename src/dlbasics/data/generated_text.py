"""Text sets drawn by a seeded generator instead of read from files (offline tasks).

A subclass says how to draw ``size`` labelled texts from a ``random.Random``; this base
checks the split sizes and draws train, val and test in that order from one generator
seeded with ``seed``, so the seed alone fixes every split. Tokenising, the vocabulary and
batching are the text sets' (:class:`~dlbasics.data.text.TextDataModule`).
"""

import random
from typing import Any

from dlbasics.data.base import generated_split_sizes
from dlbasics.data.text import SPLITS, TextDataModule, TextSplit


class GeneratedTextDataModule(TextDataModule):
    sample_name = "sample"  # how a source names one text in messages: "generated train sample 3"

    def __init__(
        self, num_train: int, num_val: int, num_test: int, seed: int = 0, **text_kwargs: Any
    ) -> None:
        super().__init__(**text_kwargs)
        self.sizes = generated_split_sizes(num_train, num_val, num_test)
        self.seed = seed

    def draw(self, size: int, rng: random.Random) -> tuple[list[str], list[int]]:
        """``size`` texts and their labels."""
        raise NotImplementedError

    def read_texts(self) -> dict[str, TextSplit]:
        rng = random.Random(self.seed)
        splits = {}
        for split, size in zip(SPLITS, self.sizes, strict=True):
            texts, labels = self.draw(size, rng)
            sources = [f"generated {split} {self.sample_name} {i}" for i in range(size)]
            splits[split] = TextSplit(texts, labels, sources)
        return splits
