"""`BasePooling`: what the max and average pooling layers share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.convolutional.conv_utils import (
    channels_last_output_shape,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer


class BasePooling(Layer):
    """A channels-last pooling layer with `rank` spatial axes.

    Subclasses set `rank` and `pool_fn` (`staticmethod` of a graphc pooling function, e.g.
    `graphc.max_pool2d`). Arguments are Keras' (see MaxPooling2D); `strides` default to
    `pool_size`.
    """

    rank: int
    pool_fn: Callable[..., Value]

    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size")
        self.strides = standardize_tuple(
            self.pool_size if strides is None else strides, self.rank, "strides"
        )
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: Value) -> Value:
        return self.pool_fn(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return channels_last_output_shape(
            input_shape, self.pool_size, self.strides, self.padding, input_shape[-1]
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "padding": self.padding,
            "strides": list(self.strides),
            "data_format": self.data_format,
        }
