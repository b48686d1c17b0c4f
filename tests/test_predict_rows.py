"""predictions.csv rows for each kind of task, from the task's own decision rule."""

import functools

import pytest
import torch

from dlbasics.nets import LinearNet
from dlbasics.predict import _rows
from dlbasics.tasks import (
    BinaryClassificationTask,
    ClassificationTask,
    MultilabelTask,
    RegressionTask,
)

SGD = functools.partial(torch.optim.SGD, lr=0.1)


def test_multiclass_rows_take_the_most_probable_class():
    task = ClassificationTask(num_classes=3, top_k=(), net=LinearNet(2, 3), optimizer=SGD)
    header, rows = _rows(task, torch.tensor([[0.2, 0.7, 0.1]]), torch.tensor([2]), list("abc"))
    assert header[:4] == ["index", "predicted", "predicted_name", "probability"]
    assert rows == [[0, 1, "b", "0.700000", 2, "c"]]


def test_binary_rows_threshold_the_single_probability():
    task = BinaryClassificationTask(threshold=0.5, net=LinearNet(2, 1), optimizer=SGD)
    outputs = torch.tensor([[0.9], [0.2]])
    _, rows = _rows(task, outputs, torch.tensor([1, 1]), ["upper", "lower"])
    assert [r[1:4] for r in rows] == [[1, "lower", "0.900000"], [0, "upper", "0.800000"]]


def test_multilabel_rows_list_the_label_sets():
    task = MultilabelTask(num_labels=3, net=LinearNet(2, 3), optimizer=SGD)
    outputs = torch.tensor([[0.9, 0.1, 0.6], [0.2, 0.3, 0.4]])
    targets = torch.tensor([[1, 0, 1], [0, 1, 0]])
    header, rows = _rows(task, outputs, targets, ["cat", "dog", "owl"])
    assert header == ["index", "predicted", "predicted_names", "target", "target_names"]
    assert rows == [[0, "0;2", "cat;owl", "0;2", "cat;owl"], [1, "", "", "1", "dog"]]


def test_regression_rows_hold_values():
    task = RegressionTask(net=LinearNet(2, 1), optimizer=SGD)
    header, rows = _rows(task, torch.tensor([[1.5]]), torch.tensor([[2.0]]), None)
    assert header == ["index", "prediction_0", "target"]
    assert rows == [[0, "1.5", "2"]]


@pytest.mark.parametrize("threshold", [0.3, 0.95])
def test_binary_threshold_is_the_tasks(threshold):
    task = BinaryClassificationTask(threshold=threshold, net=LinearNet(2, 1), optimizer=SGD)
    predicted, _ = task.decide(torch.tensor([[0.9]]))
    assert int(predicted[0]) == int(threshold < 0.9)
