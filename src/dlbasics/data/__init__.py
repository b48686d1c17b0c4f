"""LightningDataModules: parsing, splitting and batching of every data set."""

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset
from dlbasics.data.synthetic import SyntheticLinearDataModule
from dlbasics.data.vision import FashionMNISTDataModule, MNISTDataModule, VisionDataModule

__all__ = [
    "FashionMNISTDataModule",
    "InMemoryDataModule",
    "MNISTDataModule",
    "SyntheticLinearDataModule",
    "TensorBatchDataset",
    "VisionDataModule",
]
