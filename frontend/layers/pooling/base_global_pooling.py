"""`BaseGlobalPooling`: reduce every spatial (or time) axis away, keeping the channels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.convolutional.conv_utils import standardize_data_format
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer


class BaseGlobalPooling(Layer):
    """Global pooling over the `rank` spatial axes of a channels-last input.

    Subclasses set `rank` and `reduce_fn` (`staticmethod(graphc.mean)` or
    `staticmethod(graphc.max)`).

    Args:
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).
        keepdims: keep the reduced axes with size 1, as Keras' `keepdims=True`.
    """

    rank: int
    reduce_fn: Callable[..., Value]

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        return tuple(range(1, self.rank + 1))

    def call(self, inputs: Value) -> Value:
        return self.reduce_fn(inputs, axis=self.spatial_axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self.keepdims:
            return (input_shape[0], *(1,) * self.rank, input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}
