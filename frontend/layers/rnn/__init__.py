"""Recurrent layers: SimpleRNN, LSTM, GRU, their cells, the generic RNN and Bidirectional."""

from graphc.frontend.layers.rnn.bidirectional import Bidirectional
from graphc.frontend.layers.rnn.gru import GRU, GRUCell
from graphc.frontend.layers.rnn.lstm import LSTM, LSTMCell
from graphc.frontend.layers.rnn.rnn import RNN
from graphc.frontend.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell

__all__ = [
    "Bidirectional",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "SimpleRNN",
    "SimpleRNNCell",
]


def known_layer_classes() -> dict[str, type]:
    """Layer classes by name for deserializing the layers and cells inside RNN configs:
    every built-in layer, including the classes of this package.

    >>> known_layer_classes()["LSTMCell"] is LSTMCell
    True
    """
    from graphc.frontend.layers.serialization import builtin_layer_classes

    own = (Bidirectional, GRU, GRUCell, LSTM, LSTMCell, RNN, SimpleRNN, SimpleRNNCell)
    return {**builtin_layer_classes(), **{cls.__name__: cls for cls in own}}
