"""LightningModules: losses, metrics and optimisation around a plain ``nn.Module``."""

from dlbasics.tasks.base import Task
from dlbasics.tasks.binary import BinaryClassificationTask
from dlbasics.tasks.classification import ClassificationTask
from dlbasics.tasks.multilabel import MultilabelTask
from dlbasics.tasks.regression import RegressionTask

__all__ = [
    "BinaryClassificationTask",
    "ClassificationTask",
    "MultilabelTask",
    "RegressionTask",
    "Task",
]
