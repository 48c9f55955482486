"""Convolution layers: Conv1D and Conv2D (channels last)."""

from graphc.frontend.layers.convolutional.conv1d import Conv1D
from graphc.frontend.layers.convolutional.conv2d import Conv2D

# Keras' older aliases: the same classes.
Convolution1D = Conv1D
Convolution2D = Conv2D

__all__ = ["Conv1D", "Conv2D", "Convolution1D", "Convolution2D"]
