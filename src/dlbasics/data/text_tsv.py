"""Sentence and sentence-pair classification from tab-separated files (LCQMC-style).

``<path>/train.tsv``, ``dev.tsv`` and ``test.tsv`` train, validate and test. Every line
is ``text <TAB> label`` or ``text_a <TAB> text_b <TAB> label`` (a pair, as LCQMC's
question pairs), with an integer label in ``0..num_classes-1``; the first line of
``train.tsv`` says which, and every line of the three files must have as many columns.
``header=true`` skips the first line of each file; blank lines are skipped. A pair is
encoded ``a [SEP] b`` as one sequence, or ``[CLS] a [SEP] b [SEP]`` with segment ids under
``cls_token=true`` (see :mod:`dlbasics.data.text`).
"""

from pathlib import Path
from typing import Any

from dlbasics.data.text import TextDataModule, TextSplit, read_text_file
from dlbasics.errors import DataError
from dlbasics.utils.checks import require_flag, require_integer

FILES = {"train": "train.tsv", "val": "dev.tsv", "test": "test.tsv"}
COLUMNS = {2: "text, label", 3: "text_a, text_b, label"}


class TextPairDataModule(TextDataModule):
    """Texts or text pairs with integer labels from ``train.tsv``/``dev.tsv``/``test.tsv``;
    the classes are named by their label numbers."""

    def __init__(
        self,
        path: str = "data/lcqmc",
        num_classes: int = 2,
        header: bool = False,
        **text_kwargs: Any,
    ) -> None:
        super().__init__(**text_kwargs)
        self.path = Path(path).expanduser()
        self.num_classes = require_integer("data.num_classes", num_classes, minimum=2)
        self.class_names = [str(label) for label in range(self.num_classes)]
        require_flag("data.header", header)
        self.header = header

    def check_files(self) -> None:
        missing = [name for name in FILES.values() if not (self.path / name).is_file()]
        if missing:
            raise DataError(
                f"{self.path} has no {', '.join(missing)}; set data.path to the folder that "
                f"holds {', '.join(FILES.values())}"
            )

    def read_file(self, path: Path, columns: int | None) -> TextSplit:
        """The samples of one file; ``columns`` None: as many as its first line has."""
        texts, labels, sources = [], [], []
        lines = read_text_file(path).splitlines()
        for number, line in enumerate(lines, start=1):
            if (self.header and number == 1) or not line.strip():
                continue
            fields = line.split("\t")
            where = f"{path}:{number}"
            if len(fields) != columns and (columns is not None or len(fields) not in COLUMNS):
                expected = [columns] if columns else list(COLUMNS)
                raise DataError(
                    f"{where} has {len(fields)} tab-separated columns, expected "
                    f"{' or '.join(f'{n} ({COLUMNS[n]})' for n in expected)}; fix or remove it"
                )
            columns = len(fields)
            try:
                label = int(fields[-1])
            except ValueError:
                raise DataError(
                    f"{where}: the label {fields[-1]!r} is not an integer; the last column "
                    f"holds the class id 0..{self.num_classes - 1}"
                ) from None
            if not 0 <= label < self.num_classes:
                raise DataError(
                    f"{where}: label {label} is outside 0..{self.num_classes - 1}; fix the line "
                    f"or set data.num_classes to the number of classes"
                )
            texts.append(fields[0] if columns == 2 else (fields[0], fields[1]))
            labels.append(label)
            sources.append(where)
        if not texts:
            raise DataError(
                f"{path} holds no sample; put one {COLUMNS[columns or 3]} line per sample"
            )
        return TextSplit(texts, labels, sources)

    def read_texts(self) -> dict[str, TextSplit]:
        self.check_files()
        train = self.read_file(self.path / FILES["train"], None)
        columns = 2 if isinstance(train.texts[0], str) else 3
        return {
            "train": train,
            **{
                split: self.read_file(self.path / FILES[split], columns)
                for split in ("val", "test")
            },
        }
