"""`Flatten`: flattens each sample to a vector, keeping the batch axis."""

from __future__ import annotations

import math
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.layer import Layer
from graphc.primitives.shape import reshape, transpose

DATA_FORMATS = ("channels_last", "channels_first")


def check_data_format(who: str, data_format: str | None) -> str:
    """None means "channels_last" (Keras' default image data format)."""
    data_format = data_format or "channels_last"
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"{who}: the `data_format` argument must be one of {DATA_FORMATS}. "
            f"Received: data_format={data_format!r}"
        )
    return data_format


class Flatten(Layer):
    """Flattens the input. Does not affect the batch size.

    Args:
        data_format: "channels_last" (default) or "channels_first"; with channels_first,
            the channel axis is moved last before flattening, so weights trained on
            channels-last data keep their order (as Keras does).

    Input shape: `(batch, ...)`. Output shape: `(batch, product of the other dims)`; an input
    of shape `(batch,)` becomes `(batch, 1)`.

    >>> from graphc.frontend import Input
    >>> Flatten()(Input((28, 28))).shape
    (None, 784)
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = check_data_format("Flatten", data_format)
        self.supports_masking = False

    def call(self, inputs: Value) -> Value:
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = transpose(x, (0, *range(2, x.ndim), 1))
        return reshape(x, self.compute_output_shape(x.shape))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        return (input_shape[0], math.prod(input_shape[1:]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
