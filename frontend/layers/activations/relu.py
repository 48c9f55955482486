"""`ReLU`: max(x, 0) with Keras' options (a slope below a threshold, a cap)."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend import activations
from graphc.frontend.layers.layer import Layer


class ReLU(Layer):
    """Rectified linear unit:

        f(x) = max_value                      if x >= max_value
        f(x) = x                              if threshold <= x < max_value
        f(x) = negative_slope * (x - threshold) otherwise

    Args:
        max_value: the largest output (None: no cap); not negative.
        negative_slope: the slope below `threshold`; not negative. Default 0.
        threshold: where the function switches to the slope; not negative. Default 0.

    Input shape: arbitrary. Output shape: same as the input.

    >>> import numpy as np
    >>> ReLU(max_value=6.0)(np.array([-1.0, 3.0, 9.0], "float32")).tolist()
    [0.0, 3.0, 6.0]
    """

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        for name, value in (("negative_slope", negative_slope), ("threshold", threshold)):
            if value is None or value < 0.0:
                raise ValueError(
                    f"{name} of a ReLU layer cannot be a negative value. Received: {name}={value}"
                )
        if max_value is not None and max_value < 0.0:
            raise ValueError(
                f"max_value of a ReLU layer cannot be a negative value. Received: "
                f"max_value={max_value}"
            )
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True

    def call(self, inputs: Value) -> Value:
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }
