"""Plain ``nn.Module`` architectures: tensors in, logits or predictions out."""

from dlbasics.nets.cnn import ConvPoolNet
from dlbasics.nets.lenet import LeNet5
from dlbasics.nets.linear import LinearNet, SoftmaxRegression
from dlbasics.nets.mlp import MLP, make_activation
from dlbasics.nets.resnet import ResNet18
from dlbasics.nets.sequence import SequenceClassifier

__all__ = [
    "MLP",
    "ConvPoolNet",
    "LeNet5",
    "LinearNet",
    "ResNet18",
    "SequenceClassifier",
    "SoftmaxRegression",
    "make_activation",
]
