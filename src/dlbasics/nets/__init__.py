"""Plain ``nn.Module`` architectures: tensors in, logits or predictions out."""

from dlbasics.nets.attention import AttentionPooling, MultiHeadSelfAttention
from dlbasics.nets.cnn import ConvPoolNet
from dlbasics.nets.lenet import LeNet5
from dlbasics.nets.linear import LinearNet, SoftmaxRegression
from dlbasics.nets.mlp import MLP, make_activation
from dlbasics.nets.resnet import ResNet18
from dlbasics.nets.sequence import SequenceClassifier
from dlbasics.nets.transformer import TransformerClassifier, TransformerEncoderBlock

__all__ = [
    "MLP",
    "AttentionPooling",
    "ConvPoolNet",
    "LeNet5",
    "LinearNet",
    "MultiHeadSelfAttention",
    "ResNet18",
    "SequenceClassifier",
    "SoftmaxRegression",
    "TransformerClassifier",
    "TransformerEncoderBlock",
    "make_activation",
]
