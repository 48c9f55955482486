"""`RepeatVector`: repeats each input vector n times, (batch, f) -> (batch, n, f)."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.primitives.shape import broadcast_to, reshape


class RepeatVector(Layer):
    """Repeats the input n times along a new axis 1.

    Args:
        n: the repetition factor.

    Input shape: `(batch, features)`. Output shape: `(batch, n, features)`.

    >>> import numpy as np
    >>> RepeatVector(3)(np.array([[1.0, 2.0]])).tolist()
    [[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]
    """

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise TypeError(
                f"RepeatVector: expected a non-negative integer for `n`. Received: n={n!r}"
            )
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Value) -> Value:
        batch, features = inputs.shape
        return broadcast_to(reshape(inputs, (batch, 1, features)), (batch, self.n, features))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}
