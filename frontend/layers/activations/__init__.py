"""Activation layers with their own arguments (Keras' `keras.layers.ReLU`, `LeakyReLU`, ...).

`layers.Activation("relu")` takes a name; these take the function's parameters instead.
"""

from graphc.frontend.layers.activations.elu import ELU
from graphc.frontend.layers.activations.leaky_relu import LeakyReLU
from graphc.frontend.layers.activations.relu import ReLU
from graphc.frontend.layers.activations.softmax import Softmax
