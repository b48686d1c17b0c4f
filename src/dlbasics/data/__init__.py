"""LightningDataModules: parsing, splitting and batching of every data set."""

from dlbasics.data.base import InMemoryDataModule, TensorBatchDataset
from dlbasics.data.cifar import CIFAR10DataModule
from dlbasics.data.curves import LinearDataModule
from dlbasics.data.digit_sum import DigitSumDataModule
from dlbasics.data.images import ImageDataModule
from dlbasics.data.negation import NegationReviewsDataModule
from dlbasics.data.sequences import SequenceBatch, SequenceDataset
from dlbasics.data.text import TextDataModule, Vocabulary, load_vocabulary, save_vocabulary
from dlbasics.data.text_folder import TextFolderDataModule
from dlbasics.data.text_tsv import TextPairDataModule
from dlbasics.data.vision import FashionMNISTDataModule, MNISTDataModule, VisionDataModule

__all__ = [
    "CIFAR10DataModule",
    "DigitSumDataModule",
    "FashionMNISTDataModule",
    "ImageDataModule",
    "InMemoryDataModule",
    "LinearDataModule",
    "MNISTDataModule",
    "NegationReviewsDataModule",
    "SequenceBatch",
    "SequenceDataset",
    "TensorBatchDataset",
    "TextDataModule",
    "TextFolderDataModule",
    "TextPairDataModule",
    "VisionDataModule",
    "Vocabulary",
    "load_vocabulary",
    "save_vocabulary",
]
