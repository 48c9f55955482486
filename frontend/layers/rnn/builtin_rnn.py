"""`BuiltinRNN`: what SimpleRNN, LSTM and GRU share on top of `RNN`.

Each owns one built-in cell made from its constructor arguments, exposes the cell's
arguments as its own attributes (`lstm.units`, `gru.reset_after`), and has a flat config
(the cell's arguments next to the RNN's), as in Keras.
"""

from __future__ import annotations

from typing import Any

from graphc.frontend import regularizers
from graphc.frontend.layers.rnn.rnn import RNN
from graphc.frontend.layers.rnn.rnn_cell import RNNCell

#: Base layer config keys that belong to the RNN layer, not to its cell.
_LAYER_KEYS = ("name", "trainable", "dtype")


class BuiltinRNN(RNN):
    """An RNN layer over a cell of `cell_class`, built from `cell_args`.

    Args:
        cell_args: the cell's constructor arguments.
        **kwargs: the RNN arguments (`return_sequences`, ...) and base layer arguments; the
            cell gets the layer's `dtype` and `trainable` too.
    """

    cell_class: type[RNNCell]

    def __init__(self, cell_args: dict[str, Any], **kwargs: Any):
        cell = self.cell_class(
            **cell_args, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True)
        )
        super().__init__(cell, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: the cell's arguments read through the layer.
        cell = self.__dict__.get("cell")
        if cell is not None and name in cell.get_config() and name not in _LAYER_KEYS:
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["cell"]
        cell_config = {k: v for k, v in self.cell.get_config().items() if k not in _LAYER_KEYS}
        return {
            **config,
            **cell_config,
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> BuiltinRNN:
        return cls(**config)


def check_use_cudnn(use_cudnn: Any) -> Any:
    """Keras' `use_cudnn` argument: "auto" and False run the graph; True is refused.

    >>> check_use_cudnn("auto"), check_use_cudnn(False)
    ('auto', False)
    """
    if use_cudnn not in ("auto", True, False):
        raise ValueError(
            "Invalid valid received for argument `use_cudnn`. Expected one of "
            f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn!r}"
        )
    if use_cudnn is True:
        raise ValueError(
            "use_cudnn=True was specified, but graphc compiles recurrent layers for the CPU "
            "and never uses cuDNN. Pass use_cudnn='auto' (the default) or False."
        )
    return use_cudnn
