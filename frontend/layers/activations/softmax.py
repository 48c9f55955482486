"""`Softmax`: exp(x) / sum(exp(x)) along an axis, with Keras' masking."""

from __future__ import annotations

from typing import Any

import graphc
from graphc.core import Value
from graphc.frontend import activations
from graphc.frontend.layers.layer import Layer

#: Added to masked-out logits so that they get no probability (Keras' value for float32).
MASKED_LOGIT = -1e9


class Softmax(Layer):
    """Softmax along `axis`. With a mask (True: keep), masked positions get probability 0.

    Args:
        axis: the axis (or axes) to normalize over. Default -1.

    Input shape: arbitrary. Output shape: same as the input.

    >>> import numpy as np
    >>> Softmax()(np.array([[0.0, 0.0]], "float32")).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, axis: int | tuple[int, ...] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, list) else axis
        self.supports_masking = True

    def call(self, inputs: Value, mask: Value | None = None) -> Value:
        if mask is not None:
            keep = graphc.cast(mask, inputs.dtype)
            inputs = inputs + (1.0 - keep) * MASKED_LOGIT
        if isinstance(self.axis, tuple):
            outputs = graphc.exp(inputs - graphc.logsumexp(inputs, axis=self.axis, keepdims=True))
        else:
            outputs = activations.softmax(inputs, axis=self.axis)
        if mask is not None:
            outputs = outputs * keep
        return outputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {**super().get_config(), "axis": axis}
