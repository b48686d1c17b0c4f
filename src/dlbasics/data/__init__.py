"""LightningDataModules: parsing, splitting and batching of every data set."""

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset
from dlbasics.data.cifar import CIFAR10DataModule
from dlbasics.data.curves import LinearDataModule
from dlbasics.data.images import ImageDataModule
from dlbasics.data.vision import FashionMNISTDataModule, MNISTDataModule, VisionDataModule

__all__ = [
    "CIFAR10DataModule",
    "FashionMNISTDataModule",
    "ImageDataModule",
    "InMemoryDataModule",
    "LinearDataModule",
    "MNISTDataModule",
    "TensorBatchDataset",
    "VisionDataModule",
]
