"""LightningDataModules: parsing, splitting and batching of every data set."""

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset
from dlbasics.data.curves import LinearDataModule
from dlbasics.data.vision import FashionMNISTDataModule, MNISTDataModule, VisionDataModule

__all__ = [
    "FashionMNISTDataModule",
    "InMemoryDataModule",
    "LinearDataModule",
    "MNISTDataModule",
    "TensorBatchDataset",
    "VisionDataModule",
]
