"""Core layers: Dense, Activation, Dropout, reshaping layers, Embedding, Input, ..."""

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
