"""`ELU`: x for x > 0, alpha * (exp(x) - 1) below."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend import activations
from graphc.frontend.layers.layer import Layer


class ELU(Layer):
    """Exponential linear unit: f(x) = x for x > 0, alpha * (exp(x) - 1) otherwise.

    Args:
        alpha: the scale of the negative part. Default 1.0.

    Input shape: arbitrary. Output shape: same as the input.

    >>> import numpy as np
    >>> [round(v, 4) for v in ELU()(np.array([-1.0, 2.0], "float32")).tolist()]
    [-0.6321, 2.0]
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True

    def call(self, inputs: Value) -> Value:
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}
