"""`LeakyReLU`: x for x >= 0, negative_slope * x below."""

from __future__ import annotations

import warnings
from typing import Any

from graphc.core import Value
from graphc.frontend import activations
from graphc.frontend.layers.layer import Layer


class LeakyReLU(Layer):
    """Leaky rectified linear unit: f(x) = x for x >= 0, negative_slope * x otherwise.

    Args:
        negative_slope: the slope for x < 0; a float, not negative. Default 0.3 (Keras' layer
            default; the `leaky_relu` activation function's is 0.2). The legacy name `alpha`
            is accepted with a warning, as in Keras 3.

    Input shape: arbitrary. Output shape: same as the input.

    >>> import numpy as np
    >>> LeakyReLU()(np.array([-1.0, 2.0], "float32")).tolist()
    [-0.30000001192092896, 2.0]
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2
            )
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(
                "The negative_slope value of a Leaky ReLU layer cannot be None or negative "
                f"value. Expected a float. Received: negative_slope={negative_slope}"
            )
        self.negative_slope = negative_slope
        self.supports_masking = True

    def call(self, inputs: Value) -> Value:
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}
