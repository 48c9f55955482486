"""`Activation`: applies an activation function to its input."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend import activations
from graphc.frontend.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to an output.

    Args:
        activation: an activation name ("relu", "softmax", ...) or a function of a Value.

    Input shape: arbitrary. Output shape: same as the input.

    >>> from graphc.frontend import Input
    >>> Activation("softmax")(Input((10,))).shape
    (None, 10)
    """

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: Value) -> Value:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
