"""Iris and user CSV tables: parsing, train-only standardisation, and each bad input."""

import sys
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

from dlbasics.data.tabular import IrisDataModule, TableDataModule
from dlbasics.errors import ConfigError, DataError
from dlbasics.train import main as train_main


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rows = ["size,rooms,city,price"]
    rows += [f"{i},{i % 4 + 1},{'ab'[i % 2]},{3 * i + 1}" for i in range(1, 41)]
    return write_csv(tmp_path / "houses.csv", "\n".join(rows) + "\n")


def test_iris_is_shipped_and_split():
    data = IrisDataModule()
    data.setup()
    assert data.info() == {
        "num_features": 4,
        "num_classes": 3,
        "class_names": ["setosa", "versicolor", "virginica"],
        "input_shape": None,
        "vocab_size": None,
    }
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [90, 30, 30]
    labels = torch.cat([data.train_set.targets, data.val_set.targets, data.test_set.targets])
    assert torch.bincount(labels).tolist() == [50, 50, 50]


def test_standardisation_uses_training_rows_only():
    data = IrisDataModule()
    data.setup()
    train = data.train_set.inputs
    assert torch.allclose(train.mean(dim=0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(train.std(dim=0), torch.ones(4), atol=1e-5)
    raw = data.table.features
    # the statistics are those of the 90 training rows, not of all 150
    assert not torch.allclose(data.feature_mean, raw.mean(dim=0), atol=1e-3)
    restored = data.test_set.inputs * data.feature_std + data.feature_mean
    assert all(any(torch.allclose(row, r, atol=1e-4) for r in raw) for row in restored[:5])


def test_csv_regression_with_chosen_features(table: Path):
    data = TableDataModule(
        path=str(table),
        target="price",
        task="regression",
        features=["size"],
        val_size=5,
        test_size=5,
        standardize=False,
    )
    data.setup()
    x, y = data.train_set.inputs, data.train_set.targets
    assert data.num_features == 1 and data.num_classes is None
    assert y.shape == (30, 1)
    assert torch.allclose(y[:, 0], 3 * x[:, 0] + 1)


def test_csv_classification_encodes_labels(table: Path):
    data = TableDataModule(
        path=str(table), target="city", features=["size", "rooms"], val_size=5, test_size=5
    )
    assert data.class_names == ["a", "b"] and data.num_classes == 2


@pytest.mark.parametrize(
    ("text", "kwargs", "error", "message"),
    [
        (
            "a,b\n1,2\n3,4\n5,6\n7,8\n",
            {"target": "y"},
            DataError,
            r"data.target='y' is not a column of .*columns: a, b",
        ),
        (
            "a,y\n1,0\nx2,1\n3,0\n4,1\n",
            {"target": "y"},
            DataError,
            r"line 3, column 'a': 'x2' is not a number",
        ),
        (
            "a,y\n1,0\nnan,1\n3,0\n4,1\n",
            {"target": "y"},
            DataError,
            r"line 3, column 'a': the value is NaN",
        ),
        (
            "a,y\n1,0\n,1\n3,0\n4,1\n",
            {"target": "y"},
            DataError,
            r"line 3, column 'a': the cell is empty",
        ),
        ("a,y\n1,0\n", {"target": "y"}, DataError, r"has 1 data row\(s\)"),
        (
            "a,y\n1,0\n2,1\n3,0\n4,1\n5,0\n",
            {"target": "y", "val_size": 4},
            ConfigError,
            r"data.val_size=4 \+ data.test_size=1 leave no training rows: .* only 5 rows",
        ),
        (
            "a,y\n1,2.5\n2,oops\n3,1\n4,1\n",
            {"target": "y", "task": "regression"},
            DataError,
            r"line 3, column 'y': 'oops' is not a number",
        ),
        ("a,y\n1,0\n2,0\n3,0\n4,0\n", {"target": "y"}, DataError, "holds one class only"),
        (
            "a,y\n1,0\n2,1\n",
            {"target": "y", "task": "ranking"},
            ConfigError,
            "data.task='ranking' is unknown",
        ),
    ],
)
def test_bad_csv_input_names_the_problem(tmp_path, text, kwargs, error, message):
    path = write_csv(tmp_path / "bad.csv", text)
    options = {"val_size": 1, "test_size": 1, **kwargs}
    with pytest.raises(error, match=message):
        TableDataModule(path=str(path), **options)


def test_missing_file_and_unknown_feature(tmp_path, table):
    with pytest.raises(DataError, match="data.path=.*nope.csv does not exist"):
        TableDataModule(path=str(tmp_path / "nope.csv"), target="y", val_size=1, test_size=1)
    with pytest.raises(DataError, match=r"data.features names \['area'\]"):
        TableDataModule(
            path=str(table),
            target="price",
            features=["area"],
            val_size=1,
            test_size=1,
            task="regression",
        )


def test_cli_reports_bad_csv_in_one_line(tmp_path, capsys, monkeypatch):
    path = write_csv(tmp_path / "bad.csv", "a,b\n1,2\n3,4\n5,6\n")
    argv = [
        "dlbasics-train",
        f"paths.log_dir={tmp_path}",
        "data=csv",
        f"data.path={path}",
        "data.target=price",
        "trainer=cpu",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit) as exit_info:
        train_main()
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "data.target='price' is not a column" in stderr
    assert "Traceback" not in stderr
