"""Keras-style layers: `from graphc.frontend import layers; layers.Dense(10)`."""

from graphc.frontend.layers.activations import *
from graphc.frontend.layers.convolutional import *
from graphc.frontend.layers.core.activation import Activation
from graphc.frontend.layers.core.dense import Dense
from graphc.frontend.layers.core.dropout import Dropout
from graphc.frontend.layers.core.embedding import Embedding
from graphc.frontend.layers.core.flatten import Flatten
from graphc.frontend.layers.core.input_layer import Input, InputLayer
from graphc.frontend.layers.core.lambda_layer import Lambda
from graphc.frontend.layers.core.masking import Masking
from graphc.frontend.layers.core.permute import Permute
from graphc.frontend.layers.core.repeat_vector import RepeatVector
from graphc.frontend.layers.core.rescaling import Rescaling
from graphc.frontend.layers.core.reshape import Reshape
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.frontend.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from graphc.frontend.layers.normalization import *
from graphc.frontend.layers.pooling import *
from graphc.frontend.layers.preprocessing import *
from graphc.frontend.layers.reshaping import *
from graphc.frontend.layers.rnn import *
from graphc.frontend.layers.serialization import deserialize, serialize
