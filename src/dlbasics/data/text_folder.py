"""Text classification from a folder in the IMDB layout (the unpacked ``aclImdb`` archive).

``<path>/train/neg``, ``train/pos``, ``test/neg`` and ``test/pos`` hold one UTF-8 text
file (``*.txt``) per review; every other file or folder (IMDB's ``train/unsup``,
``*.feat``, ``urls_*.txt``) is ignored. Label 0 is ``neg``, 1 is ``pos``; the files
are read in name order, ``neg`` before ``pos``.

As in the NNDL book the training half trains, and the test half is cut into a validation
and a test split, here stratified: each class's test files are shuffled with
``split_seed`` and the first half of them (rounded down) validates, the rest tests, so
both keep the class shares of the test half (12,500 / 12,500 reviews of which half
positive, for IMDB). The vocabulary comes from the training half only.
"""

from pathlib import Path
from typing import Any

import torch

from dlbasics.data.text import TextDataModule, TextSplit, read_text_file
from dlbasics.errors import DataError

CLASSES = ("neg", "pos")
HALVES = ("train", "test")


def stratified_halves(labels: list[int], seed: int) -> tuple[list[int], list[int]]:
    """Indices of ``labels`` cut into two halves with each class split half/half (the
    first half rounded down), shuffled with ``seed``, each half in index order."""
    generator = torch.Generator().manual_seed(seed)
    targets = torch.tensor(labels, dtype=torch.long)
    first, second = [], []
    for label in range(len(CLASSES)):
        members = torch.nonzero(targets == label).flatten()
        order = members[torch.randperm(len(members), generator=generator)]
        first.append(order[: len(members) // 2])
        second.append(order[len(members) // 2 :])
    return torch.cat(first).sort().values.tolist(), torch.cat(second).sort().values.tolist()


class TextFolderDataModule(TextDataModule):
    """Reviews of an IMDB-layout folder, labelled ``neg``/``pos`` by their folder; the test
    half split into validation and test with ``split_seed`` (module docstring)."""

    num_classes = len(CLASSES)
    class_names = list(CLASSES)

    def __init__(self, path: str = "data/aclImdb", split_seed: int = 0, **text_kwargs: Any):
        super().__init__(**text_kwargs)
        self.path = Path(path).expanduser()
        self.split_seed = split_seed

    def check_files(self) -> None:
        fix = (
            "Set data.path (or paths.data_dir, which holds aclImdb) to the unpacked IMDB "
            "archive: a folder with train/neg, train/pos, test/neg and test/pos"
        )
        if not self.path.is_dir():
            raise DataError(f"no folder {self.path}. {fix}")
        folders = [f"{half}/{name}" for half in HALVES for name in CLASSES]
        missing = [folder for folder in folders if not (self.path / folder).is_dir()]
        if missing:
            raise DataError(f"{self.path} has no {', '.join(missing)} folder. {fix}")
        for folder in folders:
            if not any((self.path / folder).glob("*.txt")):
                raise DataError(
                    f"{self.path / folder} holds no .txt file; put one text file per review "
                    f"there (or copy the whole archive again)"
                )

    def read_half(self, half: str) -> TextSplit:
        texts, labels, sources = [], [], []
        for label, name in enumerate(CLASSES):
            for file in sorted((self.path / half / name).glob("*.txt")):
                text = read_text_file(file)
                if not text.strip():
                    raise DataError(f"{file} is empty; remove it or put the review's text in it")
                texts.append(text)
                labels.append(label)
                sources.append(str(file))
        return TextSplit(texts, labels, sources)

    def read_texts(self) -> dict[str, TextSplit]:
        self.check_files()
        test = self.read_half("test")
        val_indices, test_indices = stratified_halves(test.labels, self.split_seed)
        return {
            "train": self.read_half("train"),
            "val": test.subset(val_indices),
            "test": test.subset(test_indices),
        }
