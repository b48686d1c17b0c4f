"""Tables of numeric features: the Iris set shipped with the package and any user CSV file.

The table is read once, split at random by ``data.seed`` into train/val/test,
and standardised with the mean and standard deviation of the training rows
only, so nothing about the held-out rows leaks into the inputs.
"""

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset, split_indices
from dlbasics.errors import ConfigError, DataError
from dlbasics.utils.checks import require_choice, require_positive_integer

TASKS = ("classification", "regression")
IRIS_CSV = Path(__file__).with_name("iris.csv")


@dataclass
class Table:
    """Feature matrix and raw target strings read from a CSV file."""

    feature_names: list[str]
    features: Tensor
    targets: list[str]
    lines: list[int]  # line of each row in the file, for error messages


def _number(cell: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        if not cell.strip():
            raise DataError(
                f"{path} line {line}, column {column!r}: the cell is empty; fill or drop rows "
                f"with missing values before training"
            ) from None
        raise DataError(
            f"{path} line {line}, column {column!r}: {cell!r} is not a number; feature columns "
            f"must be numeric (drop the column via data.features or encode it as numbers)"
        ) from None
    if math.isnan(value):
        raise DataError(
            f"{path} line {line}, column {column!r}: the value is NaN; fill or drop rows with "
            f"missing values before training"
        )
    return value


def read_table(path: str | Path, target: str, features: Sequence[str] | None = None) -> Table:
    """Read ``path`` with a header row; ``features`` defaults to every column but ``target``."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"data.path={path} does not exist; give the path of a CSV file")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise DataError(f"{path} is empty; it needs a header row and data rows")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise DataError(
            f"data.target={target!r} is not a column of {path}; columns: {', '.join(header)}"
        )
    names = [name for name in header if name != target] if features is None else list(features)
    missing = [name for name in names if name not in header]
    if missing:
        raise DataError(
            f"data.features names {missing} which are not columns of {path}; "
            f"columns: {', '.join(header)}"
        )
    if not names:
        raise DataError(f"{path} has no feature column besides the target {target!r}")
    body = [
        (line, row) for line, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)
    ]
    columns = [header.index(name) for name in names]
    target_column = header.index(target)
    matrix, targets = [], []
    for line, row in body:
        if len(row) != len(header):
            raise DataError(
                f"{path} line {line} has {len(row)} cells but the header has {len(header)}"
            )
        matrix.append([_number(row[c], path, line, header[c]) for c in columns])
        if not row[target_column].strip():
            raise DataError(
                f"{path} line {line}, column {target!r}: the target is empty; drop the row"
            )
        targets.append(row[target_column].strip())
    features_tensor = torch.tensor(matrix, dtype=torch.float32).reshape(len(matrix), len(names))
    return Table(names, features_tensor, targets, [line for line, _ in body])


def encode_labels(values: list[str]) -> tuple[Tensor, list[str]]:
    """Class ids by sorted label (numerically when every label is a number)."""
    try:
        names = sorted(set(values), key=float)
    except ValueError:
        names = sorted(set(values))
    index = {name: i for i, name in enumerate(names)}
    return torch.tensor([index[v] for v in values], dtype=torch.long), names


def numeric_targets(table: Table, path: Path, target: str) -> Tensor:
    pairs = zip(table.lines, table.targets, strict=True)
    numbers = [_number(value, path, line, target) for line, value in pairs]
    return torch.tensor(numbers, dtype=torch.float32).unsqueeze(1)


class TableDataModule(InMemoryDataModule):
    """A CSV table for classification (class ids) or regression (targets of shape ``(n, 1)``)."""

    def __init__(
        self,
        path: str,
        target: str,
        task: str = "classification",
        features: Sequence[str] | None = None,
        val_size: int = 0,
        test_size: int = 0,
        standardize: bool = True,
        seed: int = 0,
        **loader_kwargs,
    ) -> None:
        super().__init__(**loader_kwargs)
        require_choice("data.task", task, TASKS)
        for key, value in (("data.val_size", val_size), ("data.test_size", test_size)):
            require_positive_integer(key, value)  # rows held out
        self.path, self.target, self.task = Path(path), target, task
        self.val_size, self.test_size = val_size, test_size
        self.standardize, self.seed = standardize, seed
        self.table = read_table(self.path, target, None if features is None else list(features))
        self._check_sizes(len(self.table.targets))
        if task == "classification":
            self.labels, self.class_names = encode_labels(self.table.targets)
            self.num_classes = len(self.class_names)
            if self.num_classes < 2:
                raise DataError(
                    f"column {target!r} of {self.path} holds one class only "
                    f"({self.class_names[0]!r}); classification needs at least two"
                )
        else:
            self.labels = numeric_targets(self.table, self.path, target)
        self.feature_mean = torch.zeros(self.num_features)
        self.feature_std = torch.ones(self.num_features)

    def _check_sizes(self, rows: int) -> None:
        if rows < 3:
            raise DataError(
                f"{self.path} has {rows} data row(s); a train/val/test split needs at least 3"
            )
        if self.val_size + self.test_size >= rows:
            raise ConfigError(
                f"data.val_size={self.val_size} + data.test_size={self.test_size} leave no "
                f"training rows: {self.path} has only {rows} rows; lower data.val_size or "
                f"data.test_size"
            )

    @property
    def num_features(self) -> int:
        return len(self.table.feature_names)

    @property
    def feature_names(self) -> list[str]:
        return self.table.feature_names

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        x = self.table.features
        rows = len(x)
        sizes = (rows - self.val_size - self.test_size, self.val_size, self.test_size)
        train, val, test = split_indices(rows, sizes, self.seed)
        if self.standardize:
            self.feature_mean = x[train].mean(dim=0)
            std = x[train].std(dim=0) if len(train) > 1 else torch.ones(self.num_features)
            self.feature_std = torch.where(std > 0, std, torch.ones_like(std))
        x = (x - self.feature_mean) / self.feature_std
        self.train_set, self.val_set, self.test_set = (
            TensorBatchDataset(x[idx], self.labels[idx]) for idx in (train, val, test)
        )


class IrisDataModule(TableDataModule):
    """Fisher's 150 iris flowers, 4 measurements, 3 species; the table ships with dlbasics."""

    def __init__(self, val_size: int = 30, test_size: int = 30, **kwargs) -> None:
        super().__init__(
            path=str(IRIS_CSV),
            target="species",
            task="classification",
            val_size=val_size,
            test_size=test_size,
            **kwargs,
        )
